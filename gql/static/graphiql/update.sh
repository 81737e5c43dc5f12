#!/usr/bin/env bash
# Re-fetch the vendored GraphiQL build (gql/static/graphiql/vendor/) from the npm registry:
# exactly the pinned versions below, with `npm pack`, and record each file's sha256 in
# vendor/VERSIONS. The files are committed and served by the service itself (no CDN, no npm
# at run time). To upgrade, change a version here, run `make vendor-graphiql`, open GraphiQL
# and run tests/browser/test_graphiql.py.
#
# graphiql 3.9.0 (the last 3.x) ships a standalone (UMD) build, graphiql.min.js, that runs
# on React and ReactDOM 18 as globals, with no build step; graphiql 5 ships ES modules only
# and a Monaco editor whose workers a strict Content-Security-Policy would have to allow.
set -euo pipefail

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  file-in-the-package  vendored-name
files=(
  "graphiql@$GRAPHIQL_VERSION graphiql.min.js graphiql.min.js"
  "graphiql@$GRAPHIQL_VERSION graphiql.min.css graphiql.min.css"
  "graphiql@$GRAPHIQL_VERSION LICENSE LICENSE.graphiql"
  "react@$REACT_VERSION umd/react.production.min.js react.production.min.js"
  "react@$REACT_VERSION LICENSE LICENSE.react"
  "react-dom@$REACT_VERSION umd/react-dom.production.min.js react-dom.production.min.js"
  "react-dom@$REACT_VERSION LICENSE LICENSE.react-dom"
)

for package in "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"; do
  mkdir -p "$work/$package"
  tarball="$(cd "$work" && npm pack --silent "$package")"
  tar -xzf "$work/$tarball" -C "$work/$package"
done

mkdir -p "$vendor"
{
  echo "# The vendored GraphiQL build, as fetched by gql/static/graphiql/update.sh"
  echo "# (make vendor-graphiql) from the npm registry with npm pack. Files are unmodified."
  echo "# vendored-file  package@version  path-in-package  sha256"
  for entry in "${files[@]}"; do
    read -r package source name <<<"$entry"
    cp "$work/$package/package/$source" "$vendor/$name"
    sum="$(sha256sum "$vendor/$name" | cut -d' ' -f1)"
    echo "$name $package $source $sum"
  done
} >"$vendor/VERSIONS"
cat "$vendor/VERSIONS"
