//! `spaceone.api.repository.v1.Plugin` over gRPC, with a tonic client generated from the same
//! `.proto`, and server reflection (v1 and v1alpha) as SpaceONE's command-line client uses it.

use annals_api::spaceone::proto::core;
use annals_api::spaceone::proto::repository as pb;
use annals_api::spaceone::proto::repository::plugin_client::PluginClient;
use annals_tests::oci::Image;
use annals_tests::{Backend, Server, json, on_both_backends};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

on_both_backends! {
    the_plugin_service_over_grpc => the_plugin_service_over_grpc;
    every_method_refuses_the_wrong_callers => every_method_refuses_the_wrong_callers;
    reflection_lists_and_describes_the_service => reflection_lists_and_describes_the_service;
}

async fn client(server: &Server) -> PluginClient<Channel> {
    PluginClient::connect(server.grpc.clone())
        .await
        .expect("connect to the gRPC listener")
}

/// `message` with the `token` (and `x_domain_id`) metadata SpaceONE's clients send.
fn call<T>(message: T, token: &str, domain: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if !token.is_empty() {
        request
            .metadata_mut()
            .insert("token", MetadataValue::try_from(token).unwrap());
    }
    if let Some(domain) = domain {
        request
            .metadata_mut()
            .insert("x_domain_id", MetadataValue::try_from(domain).unwrap());
    }
    request
}

fn structure(v: serde_json::Value) -> prost_types::Struct {
    annals_api::spaceone::convert::struct_from_json(&v)
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, error: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{error}: ")),
        "{status:?}"
    );
}

async fn the_plugin_service_over_grpc(backend: Backend) {
    let server = Server::start(backend).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    for tag in ["0.9.0", "1.0.0"] {
        server
            .push_image("acme/collector", tag, &Image::new(tag, 1, 100))
            .await;
    }
    let token = server.token.clone();
    let mut plugins = client(&server).await;
    let register = pb::RegisterPluginRequest {
        name: "aws-ec2".into(),
        resource_type: "inventory.Collector".into(),
        image: "acme/collector".into(),
        provider: "aws".into(),
        registry_type: pb::PublicRegistryType::Harbor as i32,
        capability: Some(structure(json!({"supported_schema": ["aws"]}))),
        labels: Some(prost_types::ListValue {
            values: vec![annals_api::spaceone::convert::from_json(&json!("aws"))],
        }),
        tags: Some(structure(json!({"n": 1}))),
        ..Default::default()
    };
    let before = server.event_count().await;
    assert_code(
        plugins
            .register(call(register.clone(), "", Some("acme")))
            .await,
        Code::Unauthenticated,
        "ERROR_AUTHENTICATE_FAILURE",
    );
    assert_code(
        plugins
            .register(call(register.clone(), "nope", Some("acme")))
            .await,
        Code::Unauthenticated,
        "ERROR_AUTHENTICATE_FAILURE",
    );
    assert_code(
        plugins.register(call(register.clone(), &token, None)).await,
        Code::InvalidArgument,
        "ERROR_REQUIRED_PARAMETER",
    );
    let mut missing = register.clone();
    missing.image = "acme/missing".into();
    assert_code(
        plugins.register(call(missing, &token, Some("acme"))).await,
        Code::NotFound,
        "ERROR_NOT_FOUND",
    );
    assert_eq!(
        server.event_count().await,
        before,
        "refusals append nothing"
    );

    let info = plugins
        .register(call(register.clone(), &token, Some("acme")))
        .await
        .expect("register")
        .into_inner();
    assert_eq!(info.name, "aws-ec2");
    assert_eq!(info.state, pb::plugin_info::State::Enabled as i32);
    assert_eq!(info.registry_type, pb::PublicRegistryType::Harbor as i32);
    assert_eq!(info.domain_id, "acme");
    assert_eq!(info.resource_type, "inventory.Collector");
    let labels = info.labels.clone().unwrap();
    assert_eq!(labels.values.len(), 1);
    let id = info.plugin_id.clone();

    let mut chosen = register.clone();
    chosen.plugin_id = id.clone();
    assert_code(
        plugins.register(call(chosen, &token, Some("acme"))).await,
        Code::AlreadyExists,
        "ERROR_NOT_UNIQUE",
    );

    let got = plugins
        .get(call(
            pb::RepositoryPluginRequest {
                plugin_id: id.clone(),
                repository_id: String::new(),
            },
            &token,
            None,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, info);
    assert_code(
        plugins
            .get(call(
                pb::RepositoryPluginRequest {
                    plugin_id: "plugin-000000000000".into(),
                    repository_id: String::new(),
                },
                &token,
                None,
            ))
            .await,
        Code::NotFound,
        "ERROR_NOT_FOUND",
    );

    let versions = plugins
        .get_versions(call(
            pb::RepositoryPluginRequest {
                plugin_id: id.clone(),
                repository_id: "repo-annals".into(),
            },
            &token,
            None,
        ))
        .await
        .expect("get_versions")
        .into_inner();
    assert_eq!(versions.results, ["1.0.0", "0.9.0"]);
    assert_eq!(versions.total_count, 2);

    let updated = plugins
        .update(call(
            pb::UpdatePluginRequest {
                plugin_id: id.clone(),
                name: "aws-ec2-v2".into(),
                docs: Some(structure(json!({"readme": "x"}))),
                ..Default::default()
            },
            &token,
            None,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.name, "aws-ec2-v2");
    assert_eq!(updated.capability, info.capability, "untouched");

    let disabled = plugins
        .disable(call(
            pb::PluginRequest {
                plugin_id: id.clone(),
            },
            &token,
            None,
        ))
        .await
        .expect("disable")
        .into_inner();
    assert_eq!(disabled.state, pb::plugin_info::State::Disabled as i32);

    let query = |state: pb::plugin_query::State, filter: Vec<core::Filter>| pb::PluginQuery {
        state: state as i32,
        query: Some(core::Query {
            filter,
            ..Default::default()
        }),
        ..Default::default()
    };
    let found = plugins
        .list(call(
            query(pb::plugin_query::State::Enabled, vec![]),
            &token,
            None,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(found.total_count, 0);
    let by_name = core::Filter {
        key_alias: Some(core::filter::KeyAlias::K("name".into())),
        value_alias: Some(core::filter::ValueAlias::V(
            annals_api::spaceone::convert::from_json(&json!("ec2")),
        )),
        operator_alias: Some(core::filter::OperatorAlias::O("contain".into())),
    };
    let found = plugins
        .list(call(
            query(pb::plugin_query::State::None, vec![by_name]),
            &token,
            Some("acme"),
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(found.total_count, 1);
    assert_eq!(found.results[0].plugin_id, id);

    plugins
        .enable(call(
            pb::PluginRequest {
                plugin_id: id.clone(),
            },
            &token,
            None,
        ))
        .await
        .expect("enable");
    let stat = plugins
        .stat(call(
            pb::PluginStatQuery {
                query: Some(structure(json!({"aggregate": [{"group": {
                    "keys": [{"key": "state", "name": "state"}],
                    "fields": [{"operator": "count", "name": "n"}]}}]}))),
                repository_id: String::new(),
            },
            &token,
            Some("acme"),
        ))
        .await
        .expect("stat")
        .into_inner();
    assert_eq!(
        annals_api::spaceone::convert::struct_to_json(&stat),
        json!({"results": [{"state": "ENABLED", "n": 1}]})
    );

    plugins
        .deregister(call(
            pb::PluginRequest {
                plugin_id: id.clone(),
            },
            &token,
            None,
        ))
        .await
        .expect("deregister");
    assert_code(
        plugins
            .enable(call(
                pb::PluginRequest {
                    plugin_id: id.clone(),
                },
                &token,
                None,
            ))
            .await,
        Code::NotFound,
        "ERROR_NOT_FOUND",
    );

    // The same history is in the usage log.
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["kind"].as_str())
        .filter(|k| k.starts_with("plugin_"))
        .collect();
    assert_eq!(
        kinds,
        [
            "plugin_deregister",
            "plugin_enable",
            "plugin_disable",
            "plugin_update",
            "plugin_register"
        ]
    );
}

async fn reflection_lists_and_describes_the_service(backend: Backend) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha;

    let server = Server::start(backend).await;
    let channel = Channel::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let ask = |m: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    };
    let requests = vec![
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol(
            "spaceone.api.repository.v1.Plugin".into(),
        )),
    ];
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let listed = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("no service list: {listed:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"spaceone.api.repository.v1.Plugin"),
        "{names:?}"
    );
    let described = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = described.message_response else {
        panic!("no descriptor: {described:?}");
    };
    let plugin_file = files
        .file_descriptor_proto
        .iter()
        .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).unwrap())
        .find(|f| f.package() == "spaceone.api.repository.v1" && !f.service.is_empty())
        .expect("the Plugin service's file");
    let service = &plugin_file.service[0];
    assert_eq!(service.name(), "Plugin");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    for m in [
        "register",
        "update",
        "deregister",
        "enable",
        "disable",
        "get_versions",
        "get",
        "list",
    ] {
        assert!(methods.contains(&m), "{m} in {methods:?}");
    }
    let info = plugin_file
        .message_type
        .iter()
        .find(|m| m.name() == "PluginInfo")
        .unwrap();
    let number = |name: &str| {
        info.field
            .iter()
            .find(|f| f.name() == name)
            .unwrap()
            .number()
    };
    assert_eq!(
        (number("state"), number("domain_id"), number("created_at")),
        (3, 21, 31)
    );

    // The older protocol SpaceONE's command-line client speaks.
    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let mut answers = alpha
        .server_reflection_info(tokio_stream::iter(vec![v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        }]))
        .await
        .unwrap()
        .into_inner();
    let listed = answers.message().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        listed.message_response
    else {
        panic!("no service list: {listed:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "spaceone.api.repository.v1.Plugin")
    );
}

/// Every method of the service, walked with five callers, as the access matrix walks the HTTP
/// routes: nobody (`UNAUTHENTICATED`), an administrator's token without the scope, a member of
/// the domain on the changing methods, a stranger (`NOT_FOUND` or `PERMISSION_DENIED`, never
/// the plugin) and the administrator (success).
async fn every_method_refuses_the_wrong_callers(backend: Backend) {
    let server = Server::start(backend).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    server
        .push_image("acme/collector", "1.0.0", &Image::new("m", 1, 100))
        .await;
    let all = "repo:read repo:write repo:admin repo:create user:read user:admin org:admin";
    let carol = server.user_token("acme", "carol", all).await;
    let bob = server.user_token("acme", "bob", all).await;
    let dave = server.user_token("acme", "dave", "repo:read").await;
    for (team, member) in [("readers", "carol"), ("owners", "dave")] {
        let (s, b) = server
            .put(
                &format!("/api/v1/organization/acme/team/{team}"),
                json!({"role": if team == "owners" { "admin" } else { "member" }}),
            )
            .await;
        assert!(s.is_success(), "{b}");
        let (s, b) = server
            .put(
                &format!("/api/v1/organization/acme/team/{team}/members/{member}"),
                json!({}),
            )
            .await;
        assert!(s.is_success(), "{b}");
    }
    let mut admin = client(&server).await;
    let admin_token = server.token.clone();
    let register = pb::RegisterPluginRequest {
        name: "m".into(),
        resource_type: "inventory.Collector".into(),
        image: "acme/collector".into(),
        ..Default::default()
    };
    let mut made = Vec::new();
    for _ in 0..2 {
        let info = admin
            .register(call(register.clone(), &admin_token, Some("acme")))
            .await
            .expect("register")
            .into_inner();
        made.push(info.plugin_id);
    }
    let (keep, gone) = (made[0].clone(), made[1].clone());

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Method {
        Register,
        Get,
        Versions,
        List,
        Stat,
        Update,
        Enable,
        Disable,
        Deregister,
    }
    let invoke = |method: Method, token: String| {
        let (server, register, keep, gone) =
            (&server, register.clone(), keep.clone(), gone.clone());
        async move {
            let mut c = client(server).await;
            let domain = Some("acme");
            let ask = |id: &str| pb::RepositoryPluginRequest {
                plugin_id: id.into(),
                repository_id: String::new(),
            };
            match method {
                Method::Register => c.register(call(register, &token, domain)).await.map(|_| ()),
                Method::Get => c.get(call(ask(&keep), &token, None)).await.map(|_| ()),
                Method::Versions => c
                    .get_versions(call(ask(&keep), &token, None))
                    .await
                    .map(|_| ()),
                Method::List => c
                    .list(call(pb::PluginQuery::default(), &token, domain))
                    .await
                    .map(|_| ()),
                Method::Stat => c
                    .stat(call(
                        pb::PluginStatQuery {
                            query: Some(structure(json!({"distinct": "name"}))),
                            repository_id: String::new(),
                        },
                        &token,
                        domain,
                    ))
                    .await
                    .map(|_| ()),
                Method::Update => c
                    .update(call(
                        pb::UpdatePluginRequest {
                            plugin_id: keep,
                            name: "renamed".into(),
                            ..Default::default()
                        },
                        &token,
                        None,
                    ))
                    .await
                    .map(|_| ()),
                Method::Enable => c
                    .enable(call(pb::PluginRequest { plugin_id: keep }, &token, None))
                    .await
                    .map(|_| ()),
                Method::Disable => c
                    .disable(call(pb::PluginRequest { plugin_id: keep }, &token, None))
                    .await
                    .map(|_| ()),
                Method::Deregister => c
                    .deregister(call(pb::PluginRequest { plugin_id: gone }, &token, None))
                    .await
                    .map(|_| ()),
            }
        }
    };
    use Method::*;
    for method in [
        Register, Get, Versions, List, Stat, Update, Enable, Disable, Deregister,
    ] {
        let reads = matches!(method, Get | Versions | List | Stat);
        let status = |r: Result<(), tonic::Status>| r.err().map(|s| s.code());
        assert_eq!(
            status(invoke(method, String::new()).await),
            Some(Code::Unauthenticated),
            "{method:?} anonymous"
        );
        assert_eq!(
            status(invoke(method, dave.clone()).await),
            Some(Code::PermissionDenied),
            "{method:?} without the scope"
        );
        let as_carol = status(invoke(method, carol.clone()).await);
        if reads {
            assert_eq!(as_carol, None, "{method:?} as a member");
        } else {
            assert_eq!(
                as_carol,
                Some(Code::PermissionDenied),
                "{method:?} as a member"
            );
        }
        let as_bob = status(invoke(method, bob.clone()).await);
        assert!(
            matches!(as_bob, Some(Code::NotFound | Code::PermissionDenied)),
            "{method:?} as a stranger: {as_bob:?}"
        );
        assert_eq!(
            status(invoke(method, admin_token.clone()).await),
            None,
            "{method:?} as admin"
        );
    }
}
