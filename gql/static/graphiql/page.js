// billclass GraphiQL: the page's own script (no inline script, so the Content-Security-Policy
// can forbid it). The token the user enters lives in this tab only: in memory and in
// sessionStorage (kept across a reload, gone with the tab), never in localStorage.
// GraphiQL itself stores its editors and tabs in sessionStorage too, without headers.
(function () {
  "use strict";

  var TOKEN_KEY = "billclass:token";
  var endpoint = window.location.pathname;

  // sessionStorage, or memory where the browser refuses it (some private modes).
  var storage = (function () {
    try {
      var probe = "billclass:probe";
      window.sessionStorage.setItem(probe, probe);
      window.sessionStorage.removeItem(probe);
      return window.sessionStorage;
    } catch (_error) {
      var items = new Map();
      return {
        getItem: function (key) { return items.has(key) ? items.get(key) : null; },
        setItem: function (key, value) { items.set(key, String(value)); },
        removeItem: function (key) { items.delete(key); },
        clear: function () { items.clear(); },
        key: function (index) { return Array.from(items.keys())[index] || null; },
        get length() { return items.size; },
      };
    }
  })();

  // What a user pastes: the token, or the whole header value.
  function tokenOf(text) {
    return text.trim().replace(/^Bearer\s+/i, "").trim();
  }

  var input = document.getElementById("token");
  var status = document.getElementById("token-status");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var current = null;

  // A new token means a new fetcher, and GraphiQL introspects again whenever its fetcher
  // changes: the Docs and autocompletion follow the token without a manual re-fetch.
  function render(token) {
    current = token;
    var headers = token ? { Authorization: "Bearer " + token } : {};
    status.textContent = token
      ? "Token in use (kept in this tab only)."
      : "No token: every request answers UNAUTHENTICATED.";
    root.render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url: endpoint, headers: headers }),
        storage: storage,
        shouldPersistHeaders: false,
        headerEditorEnabled: true,
      })
    );
  }

  function use(text) {
    var token = tokenOf(text);
    if (token === current) return;
    if (token) {
      storage.setItem(TOKEN_KEY, token);
    } else {
      storage.removeItem(TOKEN_KEY);
    }
    render(token);
  }

  // No <form>: submitted without this script, it would put the token in a URL.
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") use(input.value);
  });
  document.getElementById("use").addEventListener("click", function () {
    use(input.value);
  });
  input.addEventListener("change", function () {
    use(input.value);
  });
  document.getElementById("forget").addEventListener("click", function () {
    input.value = "";
    use("");
  });

  var saved = storage.getItem(TOKEN_KEY) || "";
  input.value = saved;
  render(saved);
})();
