//! A real client: Debian's `skopeo` copies a multi-layer OCI image from an OCI layout on disk
//! into Annals (through the Docker token flow) and back out, byte for byte. Skipped with a
//! message when skopeo is not installed (`.ci/run` installs it).

use std::process::Command;

use annals_tests::oci::{Image, sha256};
use annals_tests::skopeo::{skopeo_available, write_layout};
use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};

on_both_backends! {
    skopeo_copies_an_image_in_and_out => skopeo_copies_an_image_in_and_out;
    a_robot_pushes_and_pulls_only_what_it_was_granted => a_robot_pushes_and_pulls_only_what_it_was_granted;
}

fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("run skopeo")
}

async fn skopeo_copies_an_image_in_and_out(backend: Backend) {
    if !skopeo_available() {
        return;
    }
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let image = Image::new("skopeo", 4, 300_000);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    write_layout(&source, &image, "v1");
    let host = server.registry.trim_start_matches("http://").to_owned();
    let creds = format!("{ADMIN}:{}", server.token);
    let dest = format!("docker://{host}/acme/tools/skopeo:v1");
    let out = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &format!("oci:{}:v1", source.display()),
        &dest,
    ]);
    assert!(
        out.status.success(),
        "skopeo copy in: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let back = work.path().join("back");
    let out = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        &creds,
        &dest,
        &format!("oci:{}:v1", back.display()),
    ]);
    assert!(
        out.status.success(),
        "skopeo copy out: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for blob in image.blobs().into_iter().chain([image.manifest.as_slice()]) {
        let path = back.join("blobs/sha256").join(&sha256(blob)[7..]);
        let listing: Vec<_> = std::fs::read_dir(back.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let copied = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; have {listing:?}; index {}",
                path.display(),
                std::fs::read_to_string(back.join("index.json")).unwrap()
            )
        });
        assert!(
            copied == blob,
            "blob {} differs after the round trip",
            sha256(blob)
        );
    }
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &creds,
        &dest,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, image.manifest);
    let out = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("docker://{host}/acme/tools/skopeo"),
    ]);
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tags["Tags"], json!(["v1"]));

    // Wrong credentials are refused.
    let out = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        &format!("{ADMIN}:wrong"),
        &dest,
    ]);
    assert!(!out.status.success());

    // The usage log has the push and the pulls, by admin.
    let (_, logs) = server
        .get("/api/v1/repository/acme/tools/skopeo/logs")
        .await;
    let entries = logs["logs"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|l| l["kind"] == "push_repo" && l["performer"]["name"] == ADMIN),
        "{logs}"
    );
    assert!(
        entries
            .iter()
            .any(|l| l["kind"] == "pull_repo" && l["performer"]["name"] == ADMIN),
        "{logs}"
    );
}

/// A robot with write on one repository pushes and pulls it with skopeo, and is refused a push
/// anywhere else; `skopeo login` takes its token.
async fn a_robot_pushes_and_pulls_only_what_it_was_granted(backend: Backend) {
    if !skopeo_available() {
        return;
    }
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let (s, _) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, robot) = server
        .put("/api/v1/organization/acme/robots/deploy", json!({}))
        .await;
    assert_eq!(s, 201, "{robot}");
    let token = robot["token"].as_str().unwrap().to_owned();
    let (s, _) = server
        .put(
            "/api/v1/repository/acme/app/permissions/user/acme+deploy",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200);

    let image = Image::new("robot", 2, 50_000);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    write_layout(&source, &image, "v1");
    let host = server.registry.trim_start_matches("http://").to_owned();
    let creds = format!("acme+deploy:{token}");
    let push = |repo: &str| {
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:v1", source.display()),
            &format!("docker://{host}/acme/{repo}:v1"),
        ])
    };
    let out = push("app");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = push("elsewhere");
    assert!(!out.status.success(), "a robot may not create repositories");

    let auth = work.path().join("auth.json");
    let login = Command::new("skopeo")
        .args(["login", "--tls-verify=false", "--authfile"])
        .arg(&auth)
        .args(["-u", "acme+deploy", "-p", &token, &host])
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&auth)
        .arg(format!("docker://{host}/acme/app:v1"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, image.manifest);

    // An app token is a registry password for `skopeo login`.
    let (s, made) = server
        .post("/api/v1/user/apptoken", json!({"title": "skopeo"}))
        .await;
    assert_eq!(s, 200, "{made}");
    let code = made["token"]["token_code"].as_str().unwrap().to_owned();
    let app_auth = work.path().join("app-auth.json");
    let login = Command::new("skopeo")
        .args(["login", "--tls-verify=false", "--authfile"])
        .arg(&app_auth)
        .args(["-u", ADMIN, "-p", &code, &host])
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&app_auth)
        .arg(format!("docker://{host}/acme/app:v1"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = Command::new("skopeo")
        .args(["login", "--tls-verify=false", "--authfile"])
        .arg(work.path().join("bad.json"))
        .args(["-u", ADMIN, "-p", "not-a-token", &host])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a wrong app token logs in");

    let (_, logs) = server.get("/api/v1/repository/acme/app/logs").await;
    assert!(
        logs["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "push_repo" && l["performer"]["name"] == "acme+deploy"),
        "{logs}"
    );
}
