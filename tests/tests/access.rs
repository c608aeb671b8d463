//! Identity and access, end to end: a superuser makes a second user (who mints its own token
//! through Quay's OAuth flow), robots and app tokens; each caller can do exactly what its
//! roles and scopes allow, on the management API and on the registry, and every refusal of an
//! authenticated caller is in the log.

use annals_tests::{Backend, Server, basic_auth, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    roles_and_scopes_decide_every_answer => roles_and_scopes_decide_every_answer;
    robots_and_app_tokens_hold_only_what_they_were_given => robots_and_app_tokens_hold_only_what_they_were_given;
    teams_give_their_members_the_team_role => teams_give_their_members_the_team_role;
    prototypes_search_and_retired_routes => prototypes_search_and_retired_routes;
}

/// A client that does not follow redirects (the OAuth answer is one).
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Creates `acme` (admin's), a private and a public repository in it, an OAuth application,
/// and the user `bob`; answers bob's password and the application's client id.
async fn world(server: &Server) -> (String, String) {
    let ok = |s: StatusCode, b: &Value| assert!(s.is_success(), "{s} {b}");
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    ok(s, &b);
    for (name, visibility) in [("private", "private"), ("open", "public")] {
        let (s, b) = server
            .post(
                "/api/v1/repository",
                json!({"namespace": "acme", "repository": name, "visibility": visibility, "description": ""}),
            )
            .await;
        ok(s, &b);
    }
    let (s, app) = server
        .post(
            "/api/v1/organization/acme/applications",
            json!({"name": "cli", "redirect_uri": "http://localhost/cb"}),
        )
        .await;
    ok(s, &app);
    assert!(app["client_secret"].as_str().unwrap().len() >= 32, "{app}");
    let (s, bob) = server
        .post(
            "/api/v1/superuser/users/",
            json!({"username": "bob", "email": "bob@example.com"}),
        )
        .await;
    ok(s, &bob);
    (
        bob["password"].as_str().unwrap().to_owned(),
        app["client_id"].as_str().unwrap().to_owned(),
    )
}

/// Bob's token with `scope`, minted through `/oauth/authorize` with his password.
async fn token_for(server: &Server, password: &str, client_id: &str, scope: &str) -> String {
    let response = no_redirects()
        .get(server.url("/oauth/authorize"))
        .query(&[
            ("response_type", "token"),
            ("client_id", client_id),
            ("scope", scope),
            ("redirect_uri", "http://localhost/cb"),
        ])
        .header("Authorization", basic_auth("bob", password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.split_once('#').expect("a fragment").1.to_owned();
    form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .expect("an access token")
}

async fn as_(server: &Server, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
    server.request(method, path, None, Some(token)).await
}

async fn roles_and_scopes_decide_every_answer(backend: Backend) {
    let server = Server::start(backend).await;
    let (password, client_id) = world(&server).await;

    // Anonymous: public reads only.
    let anon = |m, p| {
        let server = &server;
        async move { server.request(m, p, None, Some("")).await }
    };
    assert_eq!(anon(Method::GET, "/api/v1/user/").await.0, 401);
    assert_eq!(
        anon(Method::GET, "/api/v1/repository/acme/private").await.0,
        401
    );
    let (s, open) = anon(Method::GET, "/api/v1/repository/acme/open").await;
    assert_eq!(
        (s.as_u16(), open["can_write"].clone()),
        (200, json!(false)),
        "{open}"
    );
    let (s, listed) = anon(Method::GET, "/api/v1/repository?namespace=acme").await;
    assert_eq!(s, 200);
    assert_eq!(names(&listed), ["open"]);

    // A wrong password is refused, and the attempt is in bob's log.
    let refused = no_redirects()
        .get(server.url("/oauth/authorize?response_type=token&client_id=x&scope=repo:read"))
        .header("Authorization", basic_auth("bob", "not-his-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let bob = token_for(
        &server,
        &password,
        &client_id,
        "repo:read repo:write user:admin",
    )
    .await;
    let (s, me) = as_(&server, &bob, Method::GET, "/api/v1/user/").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(
        (me["username"].clone(), me["super_user"].clone()),
        (json!("bob"), json!(false))
    );
    assert_eq!(me["organizations"], json!([]));

    // Another organization's: 403 on what bob may know exists, nothing of its data.
    let (s, body) = as_(&server, &bob, Method::GET, "/api/v1/organization/acme").await;
    assert_eq!(
        (s.as_u16(), body["error_type"].clone()),
        (403, json!("unauthorized")),
        "{body}"
    );
    assert!(body.get("teams").is_none());
    let (s, body) = as_(
        &server,
        &bob,
        Method::GET,
        "/api/v1/repository/acme/private",
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.get("tags").is_none());
    let (_, listed) = as_(
        &server,
        &bob,
        Method::GET,
        "/api/v1/repository?namespace=acme",
    )
    .await;
    assert_eq!(names(&listed), ["open"]);
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::DELETE,
            "/api/v1/repository/acme/open"
        )
        .await
        .0,
        403
    );
    assert_eq!(
        as_(&server, &bob, Method::GET, "/api/v1/superuser/users/")
            .await
            .0,
        403
    );

    // Granted write: he reads and tags, but may not administer.
    let (s, entry) = server
        .put(
            "/api/v1/repository/acme/private/permissions/user/bob",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200, "{entry}");
    assert_eq!(
        (entry["role"].clone(), entry["is_robot"].clone()),
        (json!("write"), json!(false))
    );
    let (s, repo) = as_(
        &server,
        &bob,
        Method::GET,
        "/api/v1/repository/acme/private",
    )
    .await;
    assert_eq!(s, 200, "{repo}");
    assert_eq!(
        (repo["can_write"].clone(), repo["can_admin"].clone()),
        (json!(true), json!(false))
    );
    let (s, _) = server
        .request(
            Method::POST,
            "/api/v1/repository/acme/private/changevisibility",
            Some(json!({"visibility": "public"})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 403);
    let (_, transitive) = server
        .get("/api/v1/repository/acme/private/permissions/user/bob/transitive")
        .await;
    assert_eq!(transitive, json!({"permissions": [{"role": "write"}]}));
    let (_, listed) = server
        .get("/api/v1/repository/acme/private/permissions/user/")
        .await;
    assert_eq!(listed["permissions"]["bob"]["role"], "write", "{listed}");

    // A token without the scope: 403 insufficient_scope, whatever the role.
    let read_only = token_for(&server, &password, &client_id, "repo:read").await;
    let (s, body) = as_(&server, &read_only, Method::GET, "/api/v1/user/").await;
    assert_eq!(
        (s.as_u16(), body["error_type"].clone()),
        (403, json!("insufficient_scope"))
    );
    let (s, _) = server
        .request(
            Method::PUT,
            "/api/v1/repository/acme/private",
            Some(json!({"description": "x"})),
            Some(&read_only),
        )
        .await;
    assert_eq!(s, 403);
    // Nobody mints a token with a scope he does not hold.
    let su = no_redirects()
        .get(server.url("/oauth/authorize"))
        .query(&[
            ("response_type", "token"),
            ("client_id", client_id.as_str()),
            ("scope", "super:user"),
        ])
        .header("Authorization", basic_auth("bob", &password))
        .send()
        .await
        .unwrap();
    assert_eq!(su.status(), 403);

    // Stars.
    let (s, _) = server
        .request(
            Method::POST,
            "/api/v1/user/starred",
            Some(json!({"namespace": "acme", "repository": "open"})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 201);
    let (_, starred) = as_(&server, &bob, Method::GET, "/api/v1/user/starred").await;
    assert_eq!(names(&starred), ["open"]);
    let (_, open) = as_(&server, &bob, Method::GET, "/api/v1/repository/acme/open").await;
    assert_eq!(open["is_starred"], true);

    // Revoking the grant takes effect at once.
    assert_eq!(
        server
            .delete("/api/v1/repository/acme/private/permissions/user/bob")
            .await
            .0,
        204
    );
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/private"
        )
        .await
        .0,
        403
    );

    // The refusals are events: acme's log shows bob's attempts.
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let denied: Vec<&Value> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "access_denied")
        .collect();
    assert!(!denied.is_empty(), "{logs}");
    assert_eq!(denied[0]["performer"]["name"], "bob", "{}", denied[0]);
    let (_, users) = server.get("/api/v1/superuser/users/").await;
    let usernames: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(usernames.contains(&"bob"), "{users}");
}

fn names(list: &Value) -> Vec<String> {
    list["repositories"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn registry_get(server: &Server, path: &str, auth: Option<String>) -> StatusCode {
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.registry));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.unwrap().status()
}

async fn robots_and_app_tokens_hold_only_what_they_were_given(backend: Backend) {
    let server = Server::start(backend).await;
    let (password, client_id) = world(&server).await;

    let (s, robot) = server
        .put(
            "/api/v1/organization/acme/robots/ci",
            json!({"description": "builds"}),
        )
        .await;
    assert_eq!(s, 201, "{robot}");
    assert_eq!(robot["name"], "acme+ci");
    let token = robot["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    // A second create is refused; the token is never shown again.
    assert_eq!(
        server
            .put("/api/v1/organization/acme/robots/ci", json!({}))
            .await
            .0,
        400
    );
    let (_, again) = server.get("/api/v1/organization/acme/robots/ci").await;
    assert!(again.get("token").is_none(), "{again}");

    let robot_auth = || Some(basic_auth("acme+ci", &token));
    // No grant yet: the private repository is refused, the public one readable.
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", robot_auth()).await,
        403
    );
    assert_eq!(
        registry_get(&server, "/v2/acme/open/tags/list", robot_auth()).await,
        200
    );
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", None).await,
        401
    );

    let (s, b) = server
        .put(
            "/api/v1/repository/acme/private/permissions/user/acme+ci",
            json!({"role": "read"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["is_robot"], true);
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", robot_auth()).await,
        200
    );
    // The Docker token says what was granted: pull, not push.
    let response = reqwest::Client::new()
        .get(format!(
            "{}/token?service=x&scope=repository:acme/private:pull,push&scope=repository:acme/nothere:pull",
            server.registry
        ))
        .header("Authorization", robot_auth().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let payload = body["token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["access"],
        json!([
            {"type": "repository", "name": "acme/private", "actions": ["pull"]},
            {"type": "repository", "name": "acme/nothere", "actions": []}
        ]),
        "{claims}"
    );
    let (_, perms) = server
        .get("/api/v1/organization/acme/robots/ci/permissions")
        .await;
    assert_eq!(
        perms,
        json!({"permissions": [{"repository": {"name": "private", "is_public": false}, "role": "read"}]})
    );
    // Read is not write: starting an upload is refused.
    let upload = reqwest::Client::new()
        .post(format!(
            "{}/v2/acme/private/blobs/uploads/",
            server.registry
        ))
        .header("Authorization", robot_auth().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 403);

    // Regenerating the token retires the old one; deleting the robot retires it all.
    let (_, regenerated) = server
        .post("/api/v1/organization/acme/robots/ci/regenerate", json!({}))
        .await;
    let fresh = regenerated["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", robot_auth()).await,
        401
    );
    let fresh_auth = || Some(basic_auth("acme+ci", &fresh));
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", fresh_auth()).await,
        200
    );
    assert_eq!(
        server.delete("/api/v1/organization/acme/robots/ci").await.0,
        204
    );
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", fresh_auth()).await,
        401
    );

    // Bob's app token is his registry password: the catalog shows what he may read.
    let bob = token_for(&server, &password, &client_id, "user:admin repo:read").await;
    let (s, made) = server
        .request(
            Method::POST,
            "/api/v1/user/apptoken",
            Some(json!({"title": "laptop"})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 200, "{made}");
    let code = made["token"]["token_code"].as_str().unwrap().to_owned();
    let uuid = made["token"]["uuid"].as_str().unwrap().to_owned();
    let (_, list) = as_(&server, &bob, Method::GET, "/api/v1/user/apptoken").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 1);
    assert!(list["tokens"][0].get("token_code").is_none(), "{list}");
    let app_auth = || Some(basic_auth("bob", &code));
    let catalog = reqwest::Client::new()
        .get(format!("{}/v2/_catalog", server.registry))
        .header("Authorization", app_auth().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 200);
    let catalog: Value = catalog.json().await.unwrap();
    assert_eq!(catalog["repositories"], json!(["acme/open"]));
    assert_eq!(
        registry_get(&server, "/v2/acme/private/tags/list", app_auth()).await,
        403
    );
    // An app token is no bearer token for the API.
    assert_eq!(
        as_(&server, &code, Method::GET, "/api/v1/user/").await.0,
        401
    );
    let revoke = format!("/api/v1/user/apptoken/{uuid}");
    assert_eq!(as_(&server, &bob, Method::DELETE, &revoke).await.0, 204);
    assert_eq!(
        registry_get(&server, "/v2/acme/open/tags/list", app_auth()).await,
        401
    );
}

async fn teams_give_their_members_the_team_role(backend: Backend) {
    let server = Server::start(backend).await;
    let (password, client_id) = world(&server).await;
    let bob = token_for(
        &server,
        &password,
        &client_id,
        "repo:admin repo:create user:admin org:admin",
    )
    .await;

    let (s, team) = server
        .put(
            "/api/v1/organization/acme/team/devs",
            json!({"role": "creator", "description": "builders"}),
        )
        .await;
    assert_eq!(s, 200, "{team}");
    assert_eq!(
        (team["role"].clone(), team["member_count"].clone()),
        (json!("creator"), json!(0))
    );
    assert_eq!(
        server
            .put(
                "/api/v1/organization/acme/team/devs/members/nobody",
                json!({})
            )
            .await
            .0,
        400
    );
    let (s, added) = server
        .put("/api/v1/organization/acme/team/devs/members/bob", json!({}))
        .await;
    assert_eq!(s, 200, "{added}");

    // A member sees the organization (not as an admin), and may create in it.
    let (s, org) = as_(&server, &bob, Method::GET, "/api/v1/organization/acme").await;
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["is_admin"], false);
    assert_eq!(org["teams"]["devs"]["member_count"], 1, "{org}");
    let (_, me) = as_(&server, &bob, Method::GET, "/api/v1/user/").await;
    assert_eq!(me["organizations"][0]["name"], "acme", "{me}");
    assert_eq!(me["organizations"][0]["can_create_repo"], true);
    let (s, made) = server
        .request(
            Method::POST,
            "/api/v1/repository",
            Some(json!({"namespace": "acme", "repository": "bobs", "visibility": "private", "description": ""})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    // ... and administers what he created, but not the organization.
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/bobs/permissions/user/"
        )
        .await
        .0,
        200
    );
    let (s, _) = server
        .request(
            Method::PUT,
            "/api/v1/organization/acme",
            Some(json!({"email": "x@example.com"})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/organization/acme/robots"
        )
        .await
        .0,
        403
    );

    // The team's grant reaches its members, and leaves with them.
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/private"
        )
        .await
        .0,
        403
    );
    let (s, granted) = server
        .put(
            "/api/v1/repository/acme/private/permissions/team/devs",
            json!({"role": "read"}),
        )
        .await;
    assert_eq!(s, 200, "{granted}");
    assert_eq!(
        granted,
        json!({"role": "read", "name": "devs", "avatar": granted["avatar"].clone()})
    );
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/private"
        )
        .await
        .0,
        200
    );
    let (_, perms) = server
        .get("/api/v1/organization/acme/team/devs/permissions")
        .await;
    assert_eq!(
        perms["permissions"][0]["repository"]["name"], "private",
        "{perms}"
    );
    let (_, members) = server.get("/api/v1/organization/acme/members").await;
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob"], "{members}");
    assert_eq!(
        server
            .delete("/api/v1/organization/acme/team/devs/members/bob")
            .await
            .0,
        204
    );
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/private"
        )
        .await
        .0,
        403
    );
    // The owners team stays.
    assert_eq!(
        server
            .delete("/api/v1/organization/acme/team/owners")
            .await
            .0,
        400
    );

    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "org_create_team",
        "org_add_team_member",
        "org_remove_team_member",
        "add_repo_permission",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

async fn prototypes_search_and_retired_routes(backend: Backend) {
    let server = Server::start(backend).await;
    let (password, client_id) = world(&server).await;
    let bob = token_for(&server, &password, &client_id, "repo:read user:read").await;

    // A prototype grants bob read on every repository made in acme from now on.
    let (s, proto) = server
        .post(
            "/api/v1/organization/acme/prototypes",
            json!({"role": "read", "delegate": {"kind": "user", "name": "bob"}}),
        )
        .await;
    assert_eq!(s, 200, "{proto}");
    assert_eq!(
        proto["delegate"],
        json!({"name": "bob", "kind": "user", "is_robot": false})
    );
    let id = proto["id"].as_str().unwrap().to_owned();
    let (s, _) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "later", "visibility": "private", "description": "the later one"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        as_(&server, &bob, Method::GET, "/api/v1/repository/acme/later")
            .await
            .0,
        200
    );
    let (_, changed) = server
        .put(
            &format!("/api/v1/organization/acme/prototypes/{id}"),
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(changed["role"], "write");
    let (_, listed) = server.get("/api/v1/organization/acme/prototypes").await;
    assert_eq!(listed["prototypes"].as_array().unwrap().len(), 1);
    assert_eq!(
        server
            .delete(&format!("/api/v1/organization/acme/prototypes/{id}"))
            .await
            .0,
        204
    );
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/organization/acme/prototypes"
        )
        .await
        .0,
        403
    );

    // Search answers only what the caller may see.
    let (_, found) = as_(
        &server,
        &bob,
        Method::GET,
        "/api/v1/find/repositories?query=",
    )
    .await;
    let mut names: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["later", "open"], "{found}");
    let (_, found) = server
        .request(
            Method::GET,
            "/api/v1/find/repositories?query=LATER",
            None,
            Some(""),
        )
        .await;
    assert_eq!(
        found["results"],
        json!([]),
        "anonymous sees no private repository"
    );
    let (_, entities) = as_(&server, &bob, Method::GET, "/api/v1/entities/bo").await;
    assert_eq!(entities["results"][0]["name"], "bob", "{entities}");
    let (_, entities) = as_(
        &server,
        &bob,
        Method::GET,
        "/api/v1/entities/owner?namespace=acme&includeTeams=true",
    )
    .await;
    assert_eq!(
        entities["results"],
        json!([]),
        "bob is no member: no teams of acme"
    );
    let (_, entities) = server
        .get("/api/v1/entities/owner?namespace=acme&includeTeams=true")
        .await;
    assert_eq!(entities["results"][0]["kind"], "team", "{entities}");

    // Retired repository tokens: the admin check, then 410.
    let (s, body) = server.get("/api/v1/repository/acme/open/tokens/").await;
    assert_eq!(s, 410, "{body}");
    assert_eq!(
        body["message"],
        "Handling of access tokens is no longer supported"
    );
    assert_eq!(
        as_(
            &server,
            &bob,
            Method::GET,
            "/api/v1/repository/acme/open/tokens/"
        )
        .await
        .0,
        403
    );
    assert_eq!(
        server
            .post("/api/v1/repository/acme/open/tokens/", json!({}))
            .await
            .0,
        400
    );

    // Global messages: a superuser posts, anyone reads; the whole log shows it.
    let (s, _) = server
        .post(
            "/api/v1/messages",
            json!({"message": {"content": "maintenance at noon", "severity": "warning", "media_type": "text/plain"}}),
        )
        .await;
    assert_eq!(s, 201);
    let (_, messages) = server
        .request(Method::GET, "/api/v1/messages", None, Some(""))
        .await;
    assert_eq!(
        messages["messages"][0]["content"], "maintenance at noon",
        "{messages}"
    );
    assert_eq!(
        server
            .request(
                Method::POST,
                "/api/v1/messages",
                Some(json!({"message": {"content": "x", "severity": "info"}})),
                Some(&bob)
            )
            .await
            .0,
        403
    );
    let (_, all) = server.get("/api/v1/superuser/logs").await;
    let kinds: Vec<&str> = all["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"create_global_message"), "{kinds:?}");
    assert!(kinds.contains(&"access_denied"), "{kinds:?}");

    // Service keys: the private half once, the public half as a JWK named by its thumbprint.
    let (s, key) = server
        .post(
            "/api/v1/superuser/keys",
            json!({"service": "builder", "name": "ci", "expiration": null}),
        )
        .await;
    assert_eq!(s, 200, "{key}");
    assert!(
        key["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let kid = key["kid"].as_str().unwrap().to_owned();
    assert_eq!(key["public_key"]["kid"], kid.as_str());
    let (_, got) = server.get(&format!("/api/v1/superuser/keys/{kid}")).await;
    assert!(got.get("private_key").is_none(), "{got}");
    assert_eq!(got["approval"]["approver"], "admin", "{got}");
    assert_eq!(
        server
            .post("/api/v1/superuser/keys", json!({"service": "Not Valid"}))
            .await
            .0,
        400
    );
    assert_eq!(
        as_(&server, &bob, Method::GET, "/api/v1/superuser/keys")
            .await
            .0,
        403
    );

    let (s, described) = server
        .request(
            Method::GET,
            "/api/v1/error/insufficient_scope",
            None,
            Some(""),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(described["title"], "insufficient_scope");
    assert_eq!(server.get("/api/v1/error/nonsense").await.0, 404);
}
