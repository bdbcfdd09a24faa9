import base64

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("credentials", ["ad\x00min:pw", "admin:p\x00w"])
def test_it_answers_401_to_basic_credentials_holding_a_nul_character(postgres, api_client, credentials):
    header = "Basic " + base64.b64encode(credentials.encode()).decode()
    response = api_client.get("/api/models/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
