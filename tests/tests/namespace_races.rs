//! A child never outlives its parent: repositories created while their organization is being
//! deleted either commit before the deletion (and go with it) or are refused — never a
//! `repository.created` after `organization.deleted`, never a repository that answers GET but
//! not DELETE.

use std::collections::HashMap;

use annals_tests::{Backend, Server, StoredEvent, json, on_both_backends};

on_both_backends! {
    creates_racing_an_organization_delete_never_outlive_it => creates_racing_a_delete;
}

const ROUNDS: usize = 40;
const CREATORS: usize = 20;

async fn creates_racing_a_delete(backend: Backend) {
    let server = Server::start(backend).await;
    for round in 0..ROUNDS {
        let org = format!("race{round}");
        let (status, body) = server
            .post("/api/v1/organization/", json!({"name": org}))
            .await;
        assert_eq!(status, 201, "{body}");
        let creates = (0..CREATORS).map(|i| {
            let body =
                json!({"namespace": org, "repository": format!("r{i}"), "visibility": "private"});
            let server = &server;
            async move { server.post("/api/v1/repository", body).await }
        });
        let delete = async {
            // Let some creates get ahead of the delete.
            tokio::time::sleep(std::time::Duration::from_millis((round % 8) as u64 * 2)).await;
            server.delete(&format!("/api/v1/organization/{org}")).await
        };
        let (answers, (deleted, body)) = tokio::join!(futures::future::join_all(creates), delete);
        assert_eq!(deleted, 204, "{body}");
        for (status, body) in &answers {
            // A create either committed before the delete (201) or found no namespace (404),
            // or lost a conflict it could not re-plan; never a server error.
            assert!(
                [201, 404].contains(&status.as_u16()),
                "create answered {status}: {body}"
            );
        }
        // Nothing of the organization is reachable any more.
        for i in 0..CREATORS {
            let path = format!("/api/v1/repository/{org}/r{i}");
            let (get, body) = server.get(&path).await;
            assert_eq!(get, 404, "{path} outlived its organization: {body}");
            assert_eq!(server.delete(&path).await.0, 404, "{path}");
        }
        let (status, body) = server
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/repository?namespace={org}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["repositories"], json!([]), "round {round}");
        // An organization of the same name starts empty.
        assert_eq!(
            server
                .post("/api/v1/organization/", json!({"name": org}))
                .await
                .0,
            201
        );
        let (_, body) = server
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/repository?namespace={org}"),
                None,
                None,
            )
            .await;
        assert_eq!(body["repositories"], json!([]), "round {round}: {body}");
    }
    assert_no_child_after_its_parent(&server.events().await);
}

/// In the log, no repository is created in an organization after that organization's deletion.
fn assert_no_child_after_its_parent(events: &[StoredEvent]) {
    let mut deleted_at: HashMap<String, i64> = HashMap::new();
    for e in events {
        match e.event_type.as_str() {
            "organization.deleted.v1" => {
                let id = e.data["organization_id"].as_str().unwrap_or_default();
                deleted_at.insert(id.to_owned(), e.position);
            }
            "repository.created.v1" => {
                let ns = e.data["namespace_id"].as_str().unwrap_or_default();
                assert!(
                    !deleted_at.contains_key(ns),
                    "repository created at position {} in organization {ns}, deleted at {}",
                    e.position,
                    deleted_at[ns]
                );
            }
            _ => {}
        }
    }
    assert!(!deleted_at.is_empty(), "the log holds the deletions");
}
