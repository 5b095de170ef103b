def test_swagger_ui_is_served_with_local_assets(api_client, db):
    page = api_client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert "unpkg" not in html

    root = api_client.get("/")
    assert root.status_code == 302
    assert root["Location"] == "/api/docs/"
    assert api_client.get("/openapi.json").status_code == 200
