from tests.api_client import Api, World


def test_viewer_as_administrator(api: Api) -> None:
    data = api.data("{ viewer { role tokenName reseller { id } } }")
    assert data["viewer"] == {"role": "ADMINISTRATOR", "tokenName": "root", "reseller": None}


def test_world_builds(world: World, api: Api) -> None:
    data = api.data("{ viewer { role reseller { id name } } }", token=world.a.token)
    assert data["viewer"]["reseller"] == {"id": world.a.id, "name": "Reseller A"}
