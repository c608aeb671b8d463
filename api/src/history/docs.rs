//! The document's side of time travel: every GET that answers `as_of` declares it, and the
//! header its answer carries.

use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, RefOr, Required, Type};

use super::targets;

/// Adds `as_of` to the operations of the routes [`targets::target`] serves.
pub struct TimeTravel;

impl utoipa::Modify for TimeTravel {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            // `{repository}` stands for `namespace/name`.
            let concrete = path.replace("{repository}", "namespace/name");
            if targets::target(&concrete).is_none() {
                continue;
            }
            let Some(op) = item.get.as_mut() else {
                continue;
            };
            let parameter = ParameterBuilder::new()
                .name(super::AS_OF)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Answer as the resource stood at this point of the event log: an RFC 3339 \
                     time or `position:N`. The answer's `Annals-As-Of-Position` header names \
                     the position.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(64)),
                ))
                .build();
            op.parameters.get_or_insert_with(Vec::new).push(parameter);
            if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
                ok.headers.insert(
                    "Annals-As-Of-Position".to_owned(),
                    HeaderBuilder::new()
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(0)),
                        )
                        .description(Some("The position answered at, when `as_of` was given"))
                        .build(),
                );
            }
        }
    }
}
