//! Every served route of every family, walked with five callers: nobody (401), a token
//! without the route's scope (403), a user without the role (403), a user of another
//! organization (403 or 404, and none of the other organization's data) and the right caller
//! (success). The table must hold exactly the routes the discovery document and the registry
//! listener declare, so a new route cannot skip it.

use std::collections::BTreeSet;

use annals_tests::oci::{Image, sha256};
use annals_tests::{Backend, Server, basic_auth, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    every_route_refuses_the_wrong_callers => every_route_refuses_the_wrong_callers;
}

/// Who a route is for, and so what each caller must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    /// Anyone, anonymous included.
    Public,
    /// Any authenticated user; each acts on its own (bob succeeds too).
    Account,
    /// Members of `acme` (carol, in its `readers` team, succeeds).
    Member,
    /// Administrators of `acme`, or of the private repository.
    Admin,
    /// Readers of the private repository (carol holds no grant on it).
    Reader,
    /// A superuser with `super:user`.
    Super,
    /// The DigitalOcean registry routes: each user acts on its own registry; bob has none.
    Registry,
}

/// A notification id no repository has (the notification entry routes' target).
const NO_NOTIFICATION: &str = "00000000-0000-4000-8000-000000000000";

struct Route {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    class: Class,
    /// What the right caller gets.
    ok: &'static [u16],
    /// The scope the route needs (the refused token lacks it).
    scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    User,
    Repo,
    Other,
}

struct Callers {
    admin: String,
    /// The admin's own tokens with a single scope each.
    user_read_only: String,
    repo_read_only: String,
    bob: String,
    carol: String,
    bob_password: String,
    carol_password: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn ok(status: StatusCode, body: &Value) {
    assert!(status.is_success(), "{status} {body}");
}

/// What the routes act on; answers the callers and the values the paths name.
async fn fixture(server: &Server) -> (Callers, Fixture) {
    let post = |p: &'static str, b: Value| async move {
        let (s, body) = server.post(p, b).await;
        ok(s, &body);
        body
    };
    let put = |p: String, b: Value| async move {
        let (s, body) = server.put(&p, b).await;
        ok(s, &body);
        body
    };
    for org in ["acme", "doomed", "doomed2"] {
        post("/api/v1/organization/", json!({"name": org})).await;
    }
    // `mirrored` takes the mirror routes (it is in the MIRROR state after them).
    for repo in ["private", "scratch", "doomed", "mirrored"] {
        post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": repo, "visibility": "private", "description": ""}),
        )
        .await;
    }
    let image = Image::new("matrix", 1, 1000);
    server.push_image("acme/private", "v1", &image).await;
    let gone = Image::new("matrix-gone", 1, 1000);
    server.push_image("acme/private", "gone", &gone).await;
    let digest = sha256(&image.manifest);
    let label = |key: &'static str| {
        let digest = digest.clone();
        async move {
            let (s, b) = server
                .post(
                    &format!("/api/v1/repository/acme/private/manifest/{digest}/labels"),
                    json!({"key": key, "value": "x", "media_type": "text/plain"}),
                )
                .await;
            ok(s, &b);
            b["label"]["id"].as_str().unwrap().to_owned()
        }
    };
    let label_keep = label("keep").await;
    let label_gone = label("gone").await;
    let (_, images) = server.get("/api/v1/repository/acme/private/image/").await;
    let image_id = images["images"][0]["id"].as_str().unwrap().to_owned();

    let app = post(
        "/api/v1/organization/acme/applications",
        json!({"name": "matrix", "redirect_uri": "http://localhost/cb"}),
    )
    .await;
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let app_gone = post(
        "/api/v1/organization/acme/applications",
        json!({"name": "gone", "redirect_uri": "http://localhost/cb"}),
    )
    .await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut passwords = Vec::new();
    for user in ["bob", "carol", "dave", "frank"] {
        let made = post("/api/v1/superuser/users/", json!({"username": user})).await;
        passwords.push(made["password"].as_str().unwrap().to_owned());
    }
    post("/api/v1/organization/", json!({"name": "bobco"})).await;
    for team in ["readers", "extras", "gone"] {
        put(
            format!("/api/v1/organization/acme/team/{team}"),
            json!({"role": "member"}),
        )
        .await;
    }
    for member in ["carol", "frank"] {
        put(
            format!("/api/v1/organization/acme/team/readers/members/{member}"),
            json!({}),
        )
        .await;
    }
    put(
        "/api/v1/organization/acme/team/extras/invite/gone@example.com".into(),
        json!({}),
    )
    .await;
    put(
        "/api/v1/repository/acme/private/permissions/team/extras".into(),
        json!({"role": "read"}),
    )
    .await;
    for robot in ["ci", "gone"] {
        put(
            format!("/api/v1/organization/acme/robots/{robot}"),
            json!({}),
        )
        .await;
        put(format!("/api/v1/user/robots/{robot}"), json!({})).await;
    }
    let prototype = |role: &'static str| async move {
        post(
            "/api/v1/organization/acme/prototypes",
            json!({"role": role, "delegate": {"kind": "team", "name": "extras"}}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let prototype_keep = prototype("read").await;
    let prototype_gone = prototype("write").await;
    // Auto-prune policies of acme, of the admin's namespace and of acme/private.
    let policy = |base: &'static str, value: u64| async move {
        post(base, json!({"method": "number_of_tags", "value": value})).await["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let org_policy_keep = policy("/api/v1/organization/acme/autoprunepolicy/", 300).await;
    let org_policy_gone = policy("/api/v1/organization/acme/autoprunepolicy/", 400).await;
    let user_policy_keep = policy("/api/v1/user/autoprunepolicy/", 300).await;
    let user_policy_gone = policy("/api/v1/user/autoprunepolicy/", 400).await;
    let repo_policy_keep = policy("/api/v1/repository/acme/private/autoprunepolicy/", 300).await;
    let repo_policy_gone = policy("/api/v1/repository/acme/private/autoprunepolicy/", 400).await;
    let apptoken = |title: &'static str| async move {
        post("/api/v1/user/apptoken", json!({"title": title})).await["token"]["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let apptoken_keep = apptoken("keep").await;
    let apptoken_gone = apptoken("gone").await;
    post(
        "/api/v1/user/starred",
        json!({"namespace": "acme", "repository": "private"}),
    )
    .await;
    post(
        "/v2/registry",
        json!({"name": "dreg", "subscription_tier_slug": "professional", "region": "fra1"}),
    )
    .await;
    server.push_image("dreg/app", "v1", &image).await;
    server.push_image("dreg/app", "gone", &gone).await;

    post(
        "/api/v1/messages",
        json!({"message": {"content": "gone soon", "severity": "info", "media_type": "text/plain"}}),
    )
    .await;
    let (_, messages) = server.get("/api/v1/messages").await;
    let message_gone = messages["messages"][0]["uuid"].as_str().unwrap().to_owned();

    let key = |name: &'static str| async move {
        post(
            "/api/v1/superuser/keys",
            json!({"service": "builder", "name": name}),
        )
        .await["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let key_keep = key("keep").await;
    let key_gone = key("gone").await;

    let plugin = |name: &'static str| async move {
        post(
            "/repository/v1/plugins",
            json!({"name": name, "service_type": "inventory.Collector", "image": "acme/private", "domain_id": "acme"}),
        )
        .await["plugin_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let plugin_keep = plugin("keep").await;
    let plugin_gone = plugin("gone").await;
    let plugin_gone2 = plugin("gone2").await;

    // Namespace quotas: acme's (id 1, limits 1 and 2), the admin's own (id 1), and an
    // organization whose quota the routes create and delete.
    post("/api/v1/organization/", json!({"name": "quotaco"})).await;
    post("/api/v1/organization/acme/quota", json!({"limit": "1 GiB"})).await;
    for (kind, percent) in [("Warning", 50), ("Reject", 100)] {
        post(
            "/api/v1/organization/acme/quota/1/limit",
            json!({"type": kind, "threshold_percent": percent}),
        )
        .await;
    }
    post(
        "/api/v1/superuser/users/admin/quota",
        json!({"limit": "1 GiB"}),
    )
    .await;

    let admin_bearer = format!("Bearer {}", server.token);
    let callers = Callers {
        admin: server.token.clone(),
        user_read_only: server.mint(&admin_bearer, &client_id, "user:read").await,
        repo_read_only: server.mint(&admin_bearer, &client_id, "repo:read").await,
        bob: server
            .mint(
                &basic_auth("bob", &passwords[0]),
                &client_id,
                "repo:admin repo:create user:admin org:admin",
            )
            .await,
        carol: server
            .mint(
                &basic_auth("carol", &passwords[1]),
                &client_id,
                "repo:admin repo:create user:admin org:admin",
            )
            .await,
        bob_password: passwords[0].clone(),
        carol_password: passwords[1].clone(),
    };
    let fixture = Fixture {
        digest,
        gone_digest: sha256(&gone.manifest),
        label_keep,
        label_gone,
        image_id,
        client_id,
        app_gone,
        prototype_keep,
        prototype_gone,
        apptoken_keep,
        apptoken_gone,
        message_gone,
        org_policy_keep,
        org_policy_gone,
        user_policy_keep,
        user_policy_gone,
        repo_policy_keep,
        repo_policy_gone,
        key_keep,
        key_gone,
        plugin_keep,
        plugin_gone,
        plugin_gone2,
    };
    (callers, fixture)
}

struct Fixture {
    digest: String,
    gone_digest: String,
    label_keep: String,
    label_gone: String,
    image_id: String,
    client_id: String,
    app_gone: String,
    prototype_keep: String,
    prototype_gone: String,
    apptoken_keep: String,
    apptoken_gone: String,
    message_gone: String,
    org_policy_keep: String,
    org_policy_gone: String,
    user_policy_keep: String,
    user_policy_gone: String,
    repo_policy_keep: String,
    repo_policy_gone: String,
    key_keep: String,
    key_gone: String,
    plugin_keep: String,
    plugin_gone: String,
    plugin_gone2: String,
}

/// The management routes, in the order they are walked (what a route destroys is its own).
fn management_routes(f: &Fixture) -> Vec<Route> {
    use Class::*;
    let r =
        |method, template: &'static str, path: String, body: Option<Value>, class, ok, scope| {
            Route {
                method,
                template,
                path,
                body,
                class,
                ok,
                scope,
            }
        };
    let repo = "/api/v1/repository/acme/private";
    let m = format!("{repo}/manifest/{}", f.digest);
    let org = "/api/v1/organization/acme";
    vec![
        r(
            "GET",
            "/api/v1/discovery",
            "/api/v1/discovery".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/healthz",
            "/healthz".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/readyz",
            "/readyz".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/metrics",
            "/metrics".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/error/{error_type}",
            "/api/v1/error/not_found".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/users/{username}",
            "/api/v1/users/bob".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/app/{client_id}",
            format!("/api/v1/app/{}", f.client_id),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/find/all",
            "/api/v1/find/all?query=acme".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/find/repositories",
            "/api/v1/find/repositories?query=private".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/repository",
            "/api/v1/repository?namespace=acme".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        // The caller's own account.
        r(
            "GET",
            "/api/v1/user/",
            "/api/v1/user/".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/logs",
            "/api/v1/user/logs".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/aggregatelogs",
            "/api/v1/user/aggregatelogs".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/user/exportlogs",
            "/api/v1/user/exportlogs".into(),
            Some(json!({"callback_url": "http://127.0.0.1:9/cb"})),
            Account,
            &[200],
            Scope::User,
        ),
        // A log export's file: the URL is its own authority, so a forged one is refused to
        // everyone (tests/tests/log_export.rs fetches real ones).
        r(
            "GET",
            "/exportedlogs/{export_id}",
            "/exportedlogs/00000000-0000-0000-0000-000000000001?expires=99999999999&signature=AAAA"
                .into(),
            None,
            Public,
            &[403],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/user/starred",
            "/api/v1/user/starred".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/apptoken",
            "/api/v1/user/apptoken".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/user/apptoken",
            "/api/v1/user/apptoken".into(),
            Some(json!({"title": "t"})),
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/robots",
            "/api/v1/user/robots".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/entities/{prefix}",
            "/api/v1/entities/a".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/oauth/authorize",
            format!(
                "/oauth/authorize?response_type=token&client_id={}&scope=user:read",
                f.client_id
            ),
            None,
            Account,
            &[302],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/organization/",
            "/api/v1/organization/".into(),
            Some(json!({"name": "made-by-matrix"})),
            Account,
            &[201, 400],
            Scope::User,
        ),
        // Auto-prune policies of the caller's own namespace.
        r(
            "GET",
            "/api/v1/user/autoprunepolicy/",
            "/api/v1/user/autoprunepolicy/".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/user/autoprunepolicy/",
            "/api/v1/user/autoprunepolicy/".into(),
            Some(json!({"method": "creation_date", "value": "32d", "tagPattern": "^tmp-"})),
            Account,
            &[201],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/autoprunepolicy/{policy_uuid}",
            format!("/api/v1/user/autoprunepolicy/{}", f.user_policy_keep),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "PUT",
            "/api/v1/user/autoprunepolicy/{policy_uuid}",
            format!("/api/v1/user/autoprunepolicy/{}", f.user_policy_keep),
            Some(json!({"method": "number_of_tags", "value": 30})),
            Account,
            &[204],
            Scope::User,
        ),
        r(
            "DELETE",
            "/api/v1/user/autoprunepolicy/{policy_uuid}",
            format!("/api/v1/user/autoprunepolicy/{}", f.user_policy_gone),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        // The admin's own things under /user (bob has none of them: 404).
        r(
            "GET",
            "/api/v1/user/apptoken/{token_uuid}",
            format!("/api/v1/user/apptoken/{}", f.apptoken_keep),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "DELETE",
            "/api/v1/user/apptoken/{token_uuid}",
            format!("/api/v1/user/apptoken/{}", f.apptoken_gone),
            None,
            Account,
            &[204],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/robots/{robot_shortname}",
            "/api/v1/user/robots/ci".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "PUT",
            "/api/v1/user/robots/{robot_shortname}",
            "/api/v1/user/robots/fresh".into(),
            Some(json!({})),
            Account,
            &[201],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/user/robots/{robot_shortname}/permissions",
            "/api/v1/user/robots/ci/permissions".into(),
            None,
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/user/robots/{robot_shortname}/regenerate",
            "/api/v1/user/robots/ci/regenerate".into(),
            Some(json!({})),
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "DELETE",
            "/api/v1/user/robots/{robot_shortname}",
            "/api/v1/user/robots/gone".into(),
            None,
            Account,
            &[204],
            Scope::User,
        ),
        r(
            "POST",
            "/api/v1/user/starred",
            "/api/v1/user/starred".into(),
            Some(json!({"namespace": "acme", "repository": "private"})),
            Reader,
            &[201],
            Scope::User,
        ),
        r(
            "DELETE",
            "/api/v1/user/starred/{repository}",
            "/api/v1/user/starred/acme/private".into(),
            None,
            Reader,
            &[204],
            Scope::User,
        ),
        // The organization.
        r(
            "GET",
            "/api/v1/organization/{orgname}",
            org.into(),
            None,
            Member,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/team/{teamname}/members",
            format!("{org}/team/readers/members"),
            None,
            Member,
            &[200],
            Scope::User,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}",
            org.into(),
            Some(json!({"email": "acme@example.com"})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/logs",
            format!("{org}/logs"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/aggregatelogs",
            format!("{org}/aggregatelogs"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/exportlogs",
            format!("{org}/exportlogs"),
            Some(json!({"callback_url": "http://127.0.0.1:9/cb"})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/applications",
            format!("{org}/applications"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/applications",
            format!("{org}/applications"),
            Some(json!({"name": "more"})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/applications/{client_id}",
            format!("{org}/applications/{}", f.client_id),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/applications/{client_id}",
            format!("{org}/applications/{}", f.client_id),
            Some(
                json!({"name": "matrix", "redirect_uri": "http://localhost/cb", "description": "d"}),
            ),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret",
            format!("{org}/applications/{}/resetclientsecret", f.client_id),
            Some(json!({})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/applications/{client_id}",
            format!("{org}/applications/{}", f.app_gone),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/collaborators",
            format!("{org}/collaborators"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/members",
            format!("{org}/members"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/members/{membername}",
            format!("{org}/members/carol"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/members/{membername}",
            format!("{org}/members/frank"),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/prototypes",
            format!("{org}/prototypes"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/prototypes",
            format!("{org}/prototypes"),
            Some(json!({"role": "read", "delegate": {"kind": "user", "name": "dave"}})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/prototypes/{prototypeid}",
            format!("{org}/prototypes/{}", f.prototype_keep),
            Some(json!({"role": "admin"})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/prototypes/{prototypeid}",
            format!("{org}/prototypes/{}", f.prototype_gone),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        // Auto-prune policies of the organization.
        r(
            "GET",
            "/api/v1/organization/{orgname}/autoprunepolicy/",
            format!("{org}/autoprunepolicy/"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/autoprunepolicy/",
            format!("{org}/autoprunepolicy/"),
            Some(json!({"method": "creation_date", "value": "30d", "tagPattern": "^tmp-"})),
            Admin,
            &[201],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}",
            format!("{org}/autoprunepolicy/{}", f.org_policy_keep),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}",
            format!("{org}/autoprunepolicy/{}", f.org_policy_keep),
            Some(json!({"method": "number_of_tags", "value": 30})),
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}",
            format!("{org}/autoprunepolicy/{}", f.org_policy_gone),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/robots",
            format!("{org}/robots"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            format!("{org}/robots/ci"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            format!("{org}/robots/fresh"),
            Some(json!({})),
            Admin,
            &[201],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions",
            format!("{org}/robots/ci/permissions"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate",
            format!("{org}/robots/ci/regenerate"),
            Some(json!({})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            format!("{org}/robots/gone"),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/team/{teamname}",
            format!("{org}/team/fresh"),
            Some(json!({"role": "creator"})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}",
            format!("{org}/team/extras/members/dave"),
            Some(json!({})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}",
            format!("{org}/team/extras/members/dave"),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/organization/{orgname}/team/{teamname}/invite/{email}",
            format!("{org}/team/extras/invite/new@example.com"),
            Some(json!({})),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/team/{teamname}/invite/{email}",
            format!("{org}/team/extras/invite/gone@example.com"),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/organization/{orgname}/team/{teamname}/permissions",
            format!("{org}/team/extras/permissions"),
            None,
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}/team/{teamname}",
            format!("{org}/team/gone"),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/repository",
            "/api/v1/repository".into(),
            Some(
                json!({"namespace": "acme", "repository": "made", "visibility": "private", "description": ""}),
            ),
            Admin,
            &[201],
            Scope::Repo,
        ),
        // The private repository: read.
        r(
            "GET",
            "/api/v1/repository/{repository}",
            repo.into(),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/tag/",
            format!("{repo}/tag/"),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/tag/{tag}/images",
            format!("{repo}/tag/v1/images"),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/image/",
            format!("{repo}/image/"),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/image/{imageid}",
            format!("{repo}/image/{}", f.image_id),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/image/{imageid}/security",
            format!("{repo}/image/{}/security", f.image_id),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/manifest/{manifestref}",
            m.clone(),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/manifest/{manifestref}/labels",
            format!("{m}/labels"),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/manifest/{manifestref}/labels/{labelid}",
            format!("{m}/labels/{}", f.label_keep),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/manifest/{manifestref}/security",
            format!("{m}/security"),
            None,
            Reader,
            &[200],
            Scope::Repo,
        ),
        // ... write.
        r(
            "PUT",
            "/api/v1/repository/{repository}",
            repo.into(),
            Some(json!({"description": "d"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/tag/{tag}",
            format!("{repo}/tag/v2"),
            Some(json!({"manifest_digest": f.digest})),
            Admin,
            &[201, 200],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/tag/{tag}",
            format!("{repo}/tag/v2"),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/tag/{tag}/restore",
            format!("{repo}/tag/v2/restore"),
            Some(json!({"manifest_digest": f.digest})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/manifest/{manifestref}/labels",
            format!("{m}/labels"),
            Some(json!({"key": "k", "value": "v", "media_type": "text/plain"})),
            Admin,
            &[201],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/manifest/{manifestref}/labels/{labelid}",
            format!("{m}/labels/{}", f.label_gone),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        // ... administer.
        r(
            "GET",
            "/api/v1/repository/{repository}/logs",
            format!("{repo}/logs"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/aggregatelogs",
            format!("{repo}/aggregatelogs"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/exportlogs",
            format!("{repo}/exportlogs"),
            Some(json!({"callback_url": "http://127.0.0.1:9/cb"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/changevisibility",
            "/api/v1/repository/acme/scratch/changevisibility".into(),
            Some(json!({"visibility": "private"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/changestate",
            "/api/v1/repository/acme/scratch/changestate".into(),
            Some(json!({"state": "NORMAL"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        // Repository mirroring: created, read, changed, synced and cancelled in that order.
        r(
            "POST",
            "/api/v1/repository/{repository}/mirror",
            "/api/v1/repository/acme/mirrored/mirror".into(),
            Some(json!({
                "external_reference": "127.0.0.1:9/library/app",
                "sync_interval": 3600,
                "sync_start_date": "2026-12-06T12:00:00Z",
                "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["*"]},
                "robot_username": "acme+ci"
            })),
            Admin,
            &[201],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/mirror",
            "/api/v1/repository/acme/mirrored/mirror".into(),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/mirror",
            "/api/v1/repository/acme/mirrored/mirror".into(),
            Some(json!({"sync_interval": 7200})),
            Admin,
            &[201],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/mirror/sync-now",
            "/api/v1/repository/acme/mirrored/mirror/sync-now".into(),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/mirror/sync-cancel",
            "/api/v1/repository/acme/mirrored/mirror/sync-cancel".into(),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/permissions/user/",
            format!("{repo}/permissions/user/"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/permissions/user/{username}",
            format!("{repo}/permissions/user/admin"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/permissions/user/{username}/transitive",
            format!("{repo}/permissions/user/admin/transitive"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/permissions/user/{username}",
            format!("{repo}/permissions/user/dave"),
            Some(json!({"role": "read"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/permissions/user/{username}",
            format!("{repo}/permissions/user/dave"),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/permissions/team/",
            format!("{repo}/permissions/team/"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/permissions/team/{teamname}",
            format!("{repo}/permissions/team/extras"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/permissions/team/{teamname}",
            format!("{repo}/permissions/team/extras"),
            Some(json!({"role": "write"})),
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/permissions/team/{teamname}",
            format!("{repo}/permissions/team/extras"),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        // Auto-prune policies of the repository.
        r(
            "GET",
            "/api/v1/repository/{repository}/autoprunepolicy/",
            format!("{repo}/autoprunepolicy/"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/autoprunepolicy/",
            format!("{repo}/autoprunepolicy/"),
            Some(json!({"method": "creation_date", "value": "31d", "tagPattern": "^tmp-"})),
            Admin,
            &[201],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}",
            format!("{repo}/autoprunepolicy/{}", f.repo_policy_keep),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}",
            format!("{repo}/autoprunepolicy/{}", f.repo_policy_keep),
            Some(json!({"method": "number_of_tags", "value": 30})),
            Admin,
            &[204],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}",
            format!("{repo}/autoprunepolicy/{}", f.repo_policy_gone),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/tokens/",
            format!("{repo}/tokens/"),
            None,
            Admin,
            &[410],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/tokens/",
            format!("{repo}/tokens/"),
            Some(json!({"friendlyName": "x"})),
            Admin,
            &[410],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/tokens/{code}",
            format!("{repo}/tokens/abc"),
            None,
            Admin,
            &[410],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/api/v1/repository/{repository}/tokens/{code}",
            format!("{repo}/tokens/abc"),
            Some(json!({"role": "read"})),
            Admin,
            &[410],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/tokens/{code}",
            format!("{repo}/tokens/abc"),
            None,
            Admin,
            &[410],
            Scope::Repo,
        ),
        // Repository notifications: administrators of the repository. The entry routes name a
        // notification that does not exist (Quay's 404 on GET, 400 on the others).
        r(
            "GET",
            "/api/v1/repository/{repository}/notification/",
            format!("{repo}/notification/"),
            None,
            Admin,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/notification/",
            format!("{repo}/notification/"),
            Some(json!({"event": "build_success", "method": "webhook",
                "config": {"url": "https://ci.example.com/hook"}, "eventConfig": {}})),
            Admin,
            &[201],
            Scope::Repo,
        ),
        r(
            "GET",
            "/api/v1/repository/{repository}/notification/{uuid}",
            format!("{repo}/notification/{NO_NOTIFICATION}"),
            None,
            Admin,
            &[404],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}/notification/{uuid}",
            format!("{repo}/notification/{NO_NOTIFICATION}"),
            None,
            Admin,
            &[400],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/notification/{uuid}",
            format!("{repo}/notification/{NO_NOTIFICATION}"),
            Some(json!({})),
            Admin,
            &[400],
            Scope::Repo,
        ),
        r(
            "POST",
            "/api/v1/repository/{repository}/notification/{uuid}/test",
            format!("{repo}/notification/{NO_NOTIFICATION}/test"),
            Some(json!({})),
            Admin,
            &[400],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/api/v1/repository/{repository}",
            "/api/v1/repository/acme/doomed".into(),
            None,
            Admin,
            &[204],
            Scope::Repo,
        ),
        // Superuser.
        r(
            "GET",
            "/api/v1/messages",
            "/api/v1/messages".into(),
            None,
            Public,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/messages",
            "/api/v1/messages".into(),
            Some(
                json!({"message": {"content": "hello", "severity": "warning", "media_type": "text/markdown"}}),
            ),
            Super,
            &[201],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/message/{uuid}",
            format!("/api/v1/message/{}", f.message_gone),
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/superuser/keys",
            "/api/v1/superuser/keys".into(),
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/superuser/keys",
            "/api/v1/superuser/keys".into(),
            Some(json!({"service": "builder", "name": "more"})),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/superuser/keys/{kid}",
            format!("/api/v1/superuser/keys/{}", f.key_keep),
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/superuser/keys/{kid}",
            format!("/api/v1/superuser/keys/{}", f.key_keep),
            Some(json!({"name": "renamed"})),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/superuser/approvedkeys/{kid}",
            format!("/api/v1/superuser/approvedkeys/{}", f.key_keep),
            Some(json!({"notes": "again"})),
            Super,
            // Made by a superuser, the key is approved already.
            &[400],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/superuser/keys/{kid}",
            format!("/api/v1/superuser/keys/{}", f.key_gone),
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/superuser/logs",
            "/api/v1/superuser/logs".into(),
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "PUT",
            "/api/v1/superuser/organizations/{name}",
            "/api/v1/superuser/organizations/doomed2".into(),
            Some(json!({"email": "doomed@example.com"})),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/superuser/users/",
            "/api/v1/superuser/users/".into(),
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/api/v1/superuser/users/",
            "/api/v1/superuser/users/".into(),
            Some(json!({"username": "made-by-matrix-user"})),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/superuser/organizations",
            "/api/v1/superuser/organizations".into(),
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/superuser/organizations/{name}",
            "/api/v1/superuser/organizations/doomed2".into(),
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/api/v1/organization/{orgname}",
            "/api/v1/organization/doomed".into(),
            None,
            Admin,
            &[204],
            Scope::Other,
        ),
        // DigitalOcean: the caller's own registry (`dreg`, the admin's).
        r(
            "GET",
            "/v2/registry/options",
            "/v2/registry/options".into(),
            None,
            Account,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/v2/registry/validate-name",
            "/v2/registry/validate-name".into(),
            Some(json!({"name": "free-name"})),
            Account,
            &[204, 422],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry",
            "/v2/registry".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/v2/registry",
            "/v2/registry".into(),
            Some(json!({"name": "second", "subscription_tier_slug": "basic"})),
            Registry,
            &[409, 422, 400],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/subscription",
            "/v2/registry/subscription".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/v2/registry/subscription",
            "/v2/registry/subscription".into(),
            Some(json!({"tier_slug": "professional"})),
            Registry,
            &[200, 400, 422],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/docker-credentials",
            "/v2/registry/docker-credentials".into(),
            None,
            Account,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/repositories",
            "/v2/registry/dreg/repositories".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/repositoriesV2",
            "/v2/registry/dreg/repositoriesV2".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags",
            "/v2/registry/dreg/repositories/app/tags".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests",
            "/v2/registry/dreg/repositories/app/digests".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
            "/v2/registry/dreg/repositories/app/tags/gone".into(),
            None,
            Registry,
            &[204],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
            format!(
                "/v2/registry/dreg/repositories/app/digests/{}",
                f.gone_digest
            ),
            None,
            Registry,
            &[204, 404],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/garbage-collections",
            "/v2/registry/dreg/garbage-collections".into(),
            None,
            Registry,
            &[200],
            Scope::Repo,
        ),
        r(
            "POST",
            "/v2/registry/{registry_name}/garbage-collection",
            "/v2/registry/dreg/garbage-collection".into(),
            Some(json!({"type": "untagged manifests only"})),
            Registry,
            &[201],
            Scope::Repo,
        ),
        r(
            "GET",
            "/v2/registry/{registry_name}/garbage-collection",
            "/v2/registry/dreg/garbage-collection".into(),
            None,
            Registry,
            &[200, 404],
            Scope::Repo,
        ),
        r(
            "PUT",
            "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
            "/v2/registry/dreg/garbage-collection/GC".into(),
            Some(json!({"cancel": true})),
            Registry,
            &[200, 403, 404, 409, 412, 422],
            Scope::Repo,
        ),
        r(
            "DELETE",
            "/v2/registry",
            "/v2/registry".into(),
            None,
            Registry,
            &[204, 403, 409, 412],
            Scope::Repo,
        ),
    ]
}

/// The quota routes: acme's members read its quota, the caller reads its own (the admin's has
/// no limit, so its limit reads 404), and only a superuser changes one.
fn quota_routes() -> Vec<Route> {
    use Class::*;
    let q = "/api/v1/organization/acme/quota";
    let r =
        |method, template: &'static str, path: &str, body: Option<Value>, class, ok, scope| Route {
            method,
            template,
            path: path.to_owned(),
            body,
            class,
            ok,
            scope,
        };
    let org = "/api/v1/organization/{orgname}/quota";
    let quota = "/api/v1/organization/{orgname}/quota/{quota_id}";
    let limits = "/api/v1/organization/{orgname}/quota/{quota_id}/limit";
    let limit = "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}";
    let su_org = "/api/v1/superuser/organization/{namespace}/quota";
    let su_org_quota = "/api/v1/superuser/organization/{namespace}/quota/{quota_id}";
    let su_user = "/api/v1/superuser/users/{namespace}/quota";
    let su_user_quota = "/api/v1/superuser/users/{namespace}/quota/{quota_id}";
    let size = "/api/v1/superuser/registrysize/";
    let bytes = || Some(json!({"limit_bytes": 2048}));
    vec![
        r("GET", org, q, None, Member, &[200], Scope::User),
        r(
            "GET",
            quota,
            &format!("{q}/1"),
            None,
            Member,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            limits,
            &format!("{q}/1/limit"),
            None,
            Member,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            limit,
            &format!("{q}/1/limit/1"),
            None,
            Member,
            &[200],
            Scope::User,
        ),
        r(
            "PUT",
            quota,
            &format!("{q}/1"),
            bytes(),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            limits,
            &format!("{q}/1/limit"),
            Some(json!({"type": "Warning", "threshold_percent": 70})),
            Super,
            &[201],
            Scope::Other,
        ),
        r(
            "PUT",
            limit,
            &format!("{q}/1/limit/1"),
            Some(json!({"threshold_percent": 60})),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            limit,
            &format!("{q}/1/limit/2"),
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "POST",
            org,
            "/api/v1/organization/quotaco/quota",
            bytes(),
            Super,
            &[201],
            Scope::Other,
        ),
        r(
            "DELETE",
            quota,
            "/api/v1/organization/quotaco/quota/1",
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/user/quota",
            "/api/v1/user/quota",
            None,
            Account,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/user/quota/{quota_id}",
            "/api/v1/user/quota/1",
            None,
            Account,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/user/quota/{quota_id}/limit",
            "/api/v1/user/quota/1/limit",
            None,
            Account,
            &[200],
            Scope::Other,
        ),
        r(
            "GET",
            "/api/v1/user/quota/{quota_id}/limit/{limit_id}",
            "/api/v1/user/quota/1/limit/1",
            None,
            Account,
            &[404],
            Scope::Other,
        ),
        r(
            "GET",
            su_org,
            "/api/v1/superuser/organization/acme/quota",
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            su_org,
            "/api/v1/superuser/organization/quotaco/quota",
            bytes(),
            Super,
            &[201],
            Scope::Other,
        ),
        r(
            "PUT",
            su_org_quota,
            "/api/v1/superuser/organization/quotaco/quota/2",
            bytes(),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            su_org_quota,
            "/api/v1/superuser/organization/quotaco/quota/2",
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r(
            "GET",
            su_user,
            "/api/v1/superuser/users/admin/quota",
            None,
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            su_user,
            "/api/v1/superuser/users/frank/quota",
            bytes(),
            Super,
            &[201],
            Scope::Other,
        ),
        r(
            "PUT",
            su_user_quota,
            "/api/v1/superuser/users/frank/quota/1",
            bytes(),
            Super,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            su_user_quota,
            "/api/v1/superuser/users/frank/quota/1",
            None,
            Super,
            &[204],
            Scope::Other,
        ),
        r("GET", size, size, None, Super, &[200], Scope::Other),
        r("POST", size, size, None, Super, &[201], Scope::Other),
    ]
}

/// The proxy cache routes of `acme`: members read, administrators create, validate (against a
/// loopback upstream, which the default blocked hosts refuse: 400) and delete — in that order,
/// so `acme` caches nothing once they ran.
fn proxy_cache_routes() -> Vec<Route> {
    use Class::*;
    let config = "/api/v1/organization/{orgname}/proxycache";
    let validate = "/api/v1/organization/{orgname}/validateproxycache";
    let path = "/api/v1/organization/acme/proxycache";
    let body = || Some(json!({"upstream_registry": "127.0.0.1:9/library", "insecure": true}));
    let r = |method, template, path: &str, body, class, ok, scope| Route {
        method,
        template,
        path: path.to_owned(),
        body,
        class,
        ok,
        scope,
    };
    vec![
        r("GET", config, path, None, Member, &[200], Scope::User),
        r("POST", config, path, body(), Admin, &[201], Scope::Other),
        r(
            "POST",
            validate,
            "/api/v1/organization/acme/validateproxycache",
            body(),
            Admin,
            &[400],
            Scope::Other,
        ),
        r("DELETE", config, path, None, Admin, &[201], Scope::Other),
    ]
}

/// The SpaceONE plugin routes, on plugins of `acme` whose image is `acme/private`: members
/// read, administrators change.
/// The ledger's routes: public, read-only (an auditor needs no account).
fn ledger_routes() -> Vec<Route> {
    let r = |template: &'static str, path: &str| Route {
        method: "GET",
        template,
        path: path.to_owned(),
        body: None,
        class: Class::Public,
        ok: &[200],
        scope: Scope::Other,
    };
    vec![
        r("/ledger/checkpoint", "/ledger/checkpoint"),
        r("/ledger/tile/{level}/{index}", "/ledger/tile/0/000.p/1"),
        r(
            "/ledger/proof/inclusion",
            "/ledger/proof/inclusion?index=0&tree_size=1",
        ),
        r(
            "/ledger/proof/consistency",
            "/ledger/proof/consistency?first=1&second=1",
        ),
        Route {
            method: "POST",
            class: Class::Super,
            ok: &[200, 202],
            ..r("/ledger/verify", "/ledger/verify")
        },
        // JOB: the job the admin's POST above started.
        Route {
            class: Class::Super,
            ..r("/ledger/verify/{job_id}", "/ledger/verify/JOB")
        },
    ]
}

/// The event stream and webhook subscriptions: any user may open the stream or list (each sees
/// what it may read); subscriptions of `acme` are its administrators'. The subscription the
/// routes act on is made here (its URL refuses connections; deliveries just fail).
async fn events_routes(server: &Server) -> Vec<Route> {
    use Class::*;
    let hook = json!({"url": "http://127.0.0.1:9/hook", "namespace": "acme"});
    let (s, made) = server.post("/events/v1/subscriptions", hook.clone()).await;
    ok(s, &made);
    let one = format!("/events/v1/subscriptions/{}", made["id"].as_str().unwrap());
    let r =
        |method, template: &'static str, path: String, class, ok: &'static [u16], scope| Route {
            method,
            template,
            path,
            body: None,
            class,
            ok,
            scope,
        };
    vec![
        r(
            "GET",
            "/events/v1/stream",
            "/events/v1/stream?follow=false".into(),
            Account,
            &[200],
            Scope::User,
        ),
        r(
            "GET",
            "/events/v1/subscriptions",
            "/events/v1/subscriptions".into(),
            Account,
            &[200],
            Scope::User,
        ),
        Route {
            body: Some(hook),
            ..r(
                "POST",
                "/events/v1/subscriptions",
                "/events/v1/subscriptions".into(),
                Admin,
                &[201],
                Scope::Other,
            )
        },
        r(
            "GET",
            "/events/v1/subscriptions/{subscription_id}",
            one.clone(),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "POST",
            "/events/v1/subscriptions/{subscription_id}/resume",
            format!("{one}/resume"),
            Admin,
            &[200],
            Scope::Other,
        ),
        r(
            "DELETE",
            "/events/v1/subscriptions/{subscription_id}",
            one,
            Admin,
            &[204],
            Scope::Other,
        ),
    ]
}

fn spaceone_routes(f: &Fixture) -> Vec<Route> {
    use Class::*;
    let r = |method, template: &'static str, path: String, body: Option<Value>, class| Route {
        method,
        template,
        path,
        body,
        class,
        ok: &[200],
        scope: if class == Member {
            Scope::User
        } else {
            Scope::Other
        },
    };
    let keep = &f.plugin_keep;
    let ask = || Some(json!({"plugin_id": keep, "domain_id": "acme"}));
    let acme = || Some(json!({"domain_id": "acme"}));
    let register = || {
        Some(
            json!({"name": "matrix", "resource_type": "inventory.Collector",
                    "image": "acme/private", "domain_id": "acme"}),
        )
    };
    let stat = || Some(json!({"domain_id": "acme", "query": {"distinct": "name"}}));
    vec![
        r(
            "GET",
            "/repository/v1/plugins/{plugin_id}",
            format!("/repository/v1/plugins/{keep}"),
            None,
            Member,
        ),
        r(
            "GET",
            "/repository/v1/plugins/{plugin_id}/versions",
            format!("/repository/v1/plugins/{keep}/versions"),
            None,
            Member,
        ),
        r(
            "GET",
            "/repository/v1/plugins",
            "/repository/v1/plugins?domain_id=acme".into(),
            None,
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugins/search",
            "/repository/v1/plugins/search".into(),
            acme(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugins/stat",
            "/repository/v1/plugins/stat".into(),
            stat(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugin/get",
            "/repository/v1/plugin/get".into(),
            ask(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugin/get-versions",
            "/repository/v1/plugin/get-versions".into(),
            ask(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugin/list",
            "/repository/v1/plugin/list".into(),
            acme(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugin/stat",
            "/repository/v1/plugin/stat".into(),
            stat(),
            Member,
        ),
        r(
            "POST",
            "/repository/v1/plugins",
            "/repository/v1/plugins".into(),
            register(),
            Admin,
        ),
        r(
            "POST",
            "/repository/v1/plugin/register",
            "/repository/v1/plugin/register".into(),
            register(),
            Admin,
        ),
        r(
            "PUT",
            "/repository/v1/plugin/{plugin_id}",
            format!("/repository/v1/plugin/{keep}"),
            Some(json!({"name": "renamed"})),
            Admin,
        ),
        r(
            "POST",
            "/repository/v1/plugin/update",
            "/repository/v1/plugin/update".into(),
            Some(json!({"plugin_id": keep, "name": "again"})),
            Admin,
        ),
        r(
            "PUT",
            "/repository/v1/plugin/{plugin_id}/disable",
            format!("/repository/v1/plugin/{keep}/disable"),
            acme(),
            Admin,
        ),
        r(
            "PUT",
            "/repository/v1/plugin/{plugin_id}/enable",
            format!("/repository/v1/plugin/{keep}/enable"),
            acme(),
            Admin,
        ),
        r(
            "POST",
            "/repository/v1/plugin/disable",
            "/repository/v1/plugin/disable".into(),
            ask(),
            Admin,
        ),
        r(
            "POST",
            "/repository/v1/plugin/enable",
            "/repository/v1/plugin/enable".into(),
            ask(),
            Admin,
        ),
        r(
            "DELETE",
            "/repository/v1/plugin/{plugin_id}",
            format!("/repository/v1/plugin/{}?domain_id=acme", f.plugin_gone),
            None,
            Admin,
        ),
        r(
            "POST",
            "/repository/v1/plugin/deregister",
            "/repository/v1/plugin/deregister".into(),
            Some(json!({"plugin_id": f.plugin_gone2})),
            Admin,
        ),
    ]
}

/// The registry routes on the private repository, in the order they are walked.
fn registry_routes(f: &Fixture) -> Vec<Route> {
    use Class::*;
    let r = |method, template: &'static str, path: String, body: Option<Value>, class, ok| Route {
        method,
        template,
        path,
        body,
        class,
        ok,
        scope: Scope::Repo,
    };
    let name = "/v2/acme/private";
    let blob = format!("{name}/blobs/{}", sha256(b"layer"));
    vec![
        r(
            "GET",
            "/token",
            "/token?service=annals&scope=repository:acme/private:pull".into(),
            None,
            Public,
            &[200],
        ),
        r("GET", "/v2/", "/v2/".into(), None, Account, &[200]),
        r(
            "GET",
            "/v2/_catalog",
            "/v2/_catalog".into(),
            None,
            Account,
            &[200],
        ),
        r(
            "GET",
            "/v2/{name}/tags/list",
            format!("{name}/tags/list"),
            None,
            Reader,
            &[200],
        ),
        r(
            "GET",
            "/v2/{name}/manifests/{reference}",
            format!("{name}/manifests/v1"),
            None,
            Reader,
            &[200],
        ),
        r(
            "HEAD",
            "/v2/{name}/manifests/{reference}",
            format!("{name}/manifests/v1"),
            None,
            Reader,
            &[200],
        ),
        r(
            "GET",
            "/v2/{name}/referrers/{digest}",
            format!("{name}/referrers/{}", f.digest),
            None,
            Reader,
            &[200],
        ),
        r(
            "POST",
            "/v2/{name}/blobs/uploads/",
            format!("{name}/blobs/uploads/"),
            None,
            Admin,
            &[202],
        ),
        r(
            "GET",
            "/v2/{name}/blobs/uploads/{id}",
            format!("{name}/blobs/uploads/UPLOAD"),
            None,
            Admin,
            &[204],
        ),
        r(
            "PATCH",
            "/v2/{name}/blobs/uploads/{id}",
            format!("{name}/blobs/uploads/UPLOAD"),
            None,
            Admin,
            &[202],
        ),
        r(
            "PUT",
            "/v2/{name}/blobs/uploads/{id}",
            format!("{name}/blobs/uploads/UPLOAD?digest={}", sha256(b"layer")),
            None,
            Admin,
            &[201],
        ),
        r(
            "DELETE",
            "/v2/{name}/blobs/uploads/{id}",
            format!("{name}/blobs/uploads/SPARE"),
            None,
            Admin,
            &[204],
        ),
        r(
            "GET",
            "/v2/{name}/blobs/{digest}",
            blob.clone(),
            None,
            Reader,
            &[200],
        ),
        r(
            "HEAD",
            "/v2/{name}/blobs/{digest}",
            blob.clone(),
            None,
            Reader,
            &[200],
        ),
        r(
            "DELETE",
            "/v2/{name}/blobs/{digest}",
            blob,
            None,
            Admin,
            &[202],
        ),
        r(
            "PUT",
            "/v2/{name}/manifests/{reference}",
            format!("{name}/manifests/v3"),
            None,
            Admin,
            &[201],
        ),
        r(
            "DELETE",
            "/v2/{name}/manifests/{reference}",
            format!("{name}/manifests/{}", f.gone_digest),
            None,
            Admin,
            &[202],
        ),
    ]
}

/// The Gerrit plugins routes, under the anonymous path (with the bearer token) and the
/// authenticated one (`/a/`, basic auth), in the order they are walked: the install first, so
/// the others find the plugin. 'View Plugins' routes are for any user with `user:read`;
/// 'Administrate Server' ones for a superuser with `super:user`.
fn gerrit_routes(server: &Server) -> Vec<Route> {
    use Class::*;
    let dir = server.data_dir().join("gerrit-plugins");
    std::fs::write(
        dir.join("matrix.jar"),
        annals_tests::gerrit::jar(Some("matrix"), "1.0", None),
    )
    .unwrap();
    let url = format!("file://{}", dir.join("matrix.jar").to_str().unwrap());
    let mut routes = Vec::new();
    for prefix in ["", "/a"] {
        let r = |method, template: &'static str, rest: &str, class, ok, scope| Route {
            method,
            template,
            path: format!("{prefix}/plugins/{rest}"),
            body: None,
            class,
            ok,
            scope,
        };
        let t = |plain: &'static str, authenticated: &'static str| {
            if prefix.is_empty() {
                plain
            } else {
                authenticated
            }
        };
        let mut install = r(
            "PUT",
            t("/plugins/{plugin_id}", "/a/plugins/{plugin_id}"),
            "matrix",
            Super,
            &[200, 201],
            Scope::Other,
        );
        install.body = Some(json!({ "url": url }));
        routes.extend([
            install,
            r(
                "GET",
                t("/plugins/", "/a/plugins/"),
                "",
                Account,
                &[200],
                Scope::User,
            ),
            r(
                "GET",
                t(
                    "/plugins/{plugin_id}/gerrit~status",
                    "/a/plugins/{plugin_id}/gerrit~status",
                ),
                "matrix/gerrit~status",
                Account,
                &[200],
                Scope::User,
            ),
            r(
                "POST",
                t(
                    "/plugins/{plugin_id}/gerrit~disable",
                    "/a/plugins/{plugin_id}/gerrit~disable",
                ),
                "matrix/gerrit~disable",
                Super,
                &[200],
                Scope::Other,
            ),
            r(
                "POST",
                t(
                    "/plugins/{plugin_id}/gerrit~enable",
                    "/a/plugins/{plugin_id}/gerrit~enable",
                ),
                "matrix/gerrit~enable",
                Super,
                &[200],
                Scope::Other,
            ),
            r(
                "POST",
                t(
                    "/plugins/{plugin_id}/gerrit~reload",
                    "/a/plugins/{plugin_id}/gerrit~reload",
                ),
                "matrix/gerrit~reload",
                Super,
                &[200],
                Scope::Other,
            ),
            r(
                "DELETE",
                t("/plugins/{plugin_id}", "/a/plugins/{plugin_id}"),
                "matrix",
                Super,
                &[200],
                Scope::Other,
            ),
        ]);
    }
    routes
}

/// Gerrit's anonymous path refuses nobody with 403 `Authentication required`, as Gerrit
/// answers an anonymous user; its authenticated path (`/a/`) challenges with 401.
fn gerrit_anonymous_path(template: &str) -> bool {
    template.starts_with("/plugins/")
}

/// Who calls, as what.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    WithoutScope,
    Carol,
    Bob,
    Admin,
}

async fn call(
    server: &Server,
    callers: &Callers,
    route: &Route,
    path: &str,
    who: Who,
    registry: bool,
) -> (StatusCode, String) {
    let method = Method::from_bytes(route.method.as_bytes()).unwrap();
    let base = if registry {
        &server.registry
    } else {
        &server.url("")
    };
    let mut req = no_redirects().request(method, format!("{base}{path}"));
    let scoped = match route.scope {
        Scope::User => &callers.repo_read_only,
        _ => &callers.user_read_only,
    };
    let token = match who {
        Who::Anonymous => None,
        Who::WithoutScope => Some(scoped.as_str()),
        Who::Carol => Some(callers.carol.as_str()),
        Who::Bob => Some(callers.bob.as_str()),
        Who::Admin => Some(callers.admin.as_str()),
    };
    if let Some(token) = token {
        req = if registry {
            let (user, secret) = match who {
                Who::Bob => ("bob", callers.bob_password.as_str()),
                Who::Carol => ("carol", callers.carol_password.as_str()),
                Who::Admin => ("admin", token),
                _ => ("$oauthtoken", token),
            };
            req.header("Authorization", basic_auth(user, secret))
        } else if path.starts_with("/a/") {
            // Gerrit's authenticated path: the user name and a token as the HTTP password.
            let user = match who {
                Who::Bob => "bob",
                Who::Carol => "carol",
                _ => "admin",
            };
            req.header("Authorization", basic_auth(user, token))
        } else {
            req.bearer_auth(token)
        };
    }
    if let Some(body) = &route.body {
        req = req.json(body);
    }
    if registry {
        req = match (route.method, route.template) {
            ("PATCH", _) => req
                .header("content-type", "application/octet-stream")
                .body(b"layer".to_vec()),
            ("PUT", "/v2/{name}/manifests/{reference}") => {
                let image = Image::new("matrix", 1, 1000);
                req.header("content-type", "application/vnd.oci.image.manifest.v1+json")
                    .body(image.manifest.clone())
            }
            _ => req,
        };
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// Starts an upload on the private repository as the admin; answers its id.
async fn start_upload(server: &Server) -> String {
    let response = server
        .registry_request(Method::POST, "/v2/acme/private/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

async fn every_route_refuses_the_wrong_callers(backend: Backend) {
    let server = Server::start(backend).await;
    let (callers, fixture) = fixture(&server).await;

    // The table holds exactly what is served.
    let (_, doc) = server.get("/api/v1/discovery").await;
    let mut declared = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                declared.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    for (method, path) in annals_api::oci::ROUTES {
        declared.insert(((*method).to_owned(), (*path).to_owned()));
    }
    let mut management = management_routes(&fixture);
    management.extend(spaceone_routes(&fixture));
    management.extend(ledger_routes());
    management.extend(events_routes(&server).await);
    management.extend(quota_routes());
    management.extend(proxy_cache_routes());
    let registry = registry_routes(&fixture);
    let gerrit = gerrit_routes(&server);
    let walked: BTreeSet<(String, String)> = management
        .iter()
        .chain(&registry)
        .chain(&gerrit)
        .map(|r| (r.method.to_owned(), r.template.to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the table: {missing:?}"
    );
    let extra: Vec<_> = walked.difference(&declared).collect();
    assert!(
        extra.is_empty(),
        "routes the server does not declare: {extra:?}"
    );

    let upload = start_upload(&server).await;
    let spare = start_upload(&server).await;
    let mut gc_uuid = String::from("none");
    let mut job_id = String::from("00000000-0000-0000-0000-000000000000");
    for (route, on_registry) in management
        .iter()
        .map(|r| (r, false))
        .chain(registry.iter().map(|r| (r, true)))
        .chain(gerrit.iter().map(|r| (r, false)))
    {
        let path = fill(
            &route.path,
            &[
                ("UPLOAD", &upload),
                ("SPARE", &spare),
                ("GC", &gc_uuid),
                ("JOB", &job_id),
            ],
        );
        let what = format!("{} {path}", route.method);
        let refused = |who: Who, status: StatusCode, body: &str, allowed: &[u16]| {
            assert!(
                allowed.contains(&status.as_u16()),
                "{what} as {who:?}: {status} {body}"
            );
        };
        if route.class != Class::Public {
            let (s, b) = call(&server, &callers, route, &path, Who::Anonymous, on_registry).await;
            let anonymous: &[u16] = if gerrit_anonymous_path(route.template) {
                &[403]
            } else {
                &[401]
            };
            refused(Who::Anonymous, s, &b, anonymous);
            let (s, b) = call(
                &server,
                &callers,
                route,
                &path,
                Who::WithoutScope,
                on_registry,
            )
            .await;
            // The registry challenges a token it cannot use with 401 as readily as 403.
            let allowed: &[u16] = if on_registry { &[401, 403] } else { &[403] };
            if !(route.template == "/v2/" || route.template == "/v2/_catalog") {
                refused(Who::WithoutScope, s, &b, allowed);
            }
        }
        match route.class {
            Class::Admin | Class::Reader | Class::Super => {
                let (s, b) = call(&server, &callers, route, &path, Who::Carol, on_registry).await;
                refused(Who::Carol, s, &b, &[403]);
            }
            _ => {}
        }
        let other: Option<&[u16]> = match route.class {
            Class::Member | Class::Admin | Class::Reader | Class::Super => Some(&[403, 404]),
            Class::Registry if route.path.contains("/dreg") || route.method != "POST" => {
                Some(&[404, 403])
            }
            _ => None,
        };
        if let Some(allowed) = other {
            let (s, b) = call(&server, &callers, route, &path, Who::Bob, on_registry).await;
            refused(Who::Bob, s, &b, allowed);
            assert!(
                !b.contains("acme@example.com") && !b.contains("\"dreg\""),
                "{what} as bob shows another organization's data: {b}"
            );
        }
        let (s, b) = call(&server, &callers, route, &path, Who::Admin, on_registry).await;
        assert!(route.ok.contains(&s.as_u16()), "{what} as admin: {s} {b}");
        if route.template == "/ledger/verify" {
            let started: Value = serde_json::from_str(&b).unwrap();
            job_id = started["job_id"].as_str().unwrap().to_owned();
        }
        if route.template == "/v2/registry/{registry_name}/garbage-collection"
            && route.method == "POST"
        {
            let started: Value = serde_json::from_str(&b).unwrap();
            gc_uuid = started["garbage_collection"]["uuid"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
}

/// `path` with each segment that is one of the placeholders (possibly followed by a query)
/// replaced by its value. Only whole segments: a random id elsewhere in the path may contain a
/// placeholder's letters.
fn fill(path: &str, values: &[(&str, &str)]) -> String {
    path.split('/')
        .map(|segment| {
            let (name, query) = segment.split_at(segment.find('?').unwrap_or(segment.len()));
            match values.iter().find(|(placeholder, _)| *placeholder == name) {
                Some((_, value)) => format!("{value}{query}"),
                None => segment.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
