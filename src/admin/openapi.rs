//! The REST contract as OpenAPI 3: `/openapi.json`, and Swagger UI at
//! `/docs` (its files are compiled into the binary from the
//! `utoipa-swagger-ui-vendored` crate; nothing is fetched at run time).
//!
//! The paths come from the handlers' `#[utoipa::path]` annotations through
//! `utoipa_axum::routes!`, which registers a handler in the router and in
//! the document at once (see `admin::api`). [`finish`] then applies what is
//! true of every route, so that no annotation has to repeat it:
//! - every request body is read by [`Fields`](super::Fields), so the JSON
//!   body an annotation declares is also offered as
//!   `application/x-www-form-urlencoded` and `multipart/form-data`; an
//!   optional one (`content = Option<T>`) is `T`, not required (utoipa
//!   would say "T or JSON null", which no form can send);
//! - a body's fields beyond those its type names are allowed, with scalar
//!   values (what `Fields` takes; it ignores them);
//! - an error status declared without a body gets the `ApiError` body, and
//!   429 (always) and 503 (when the store is busy) carry `Retry-After`;
//! - a route under a legacy prefix gets its own operation id.

use axum::Router;
use std::collections::BTreeSet;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;

use utoipa::openapi::schema::{
    AdditionalProperties, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::error::ErrorBody;

/// Where the document and its browsable page are served.
pub const DOCUMENT_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";

/// The reference gateway's prefixes; each route group is also served
/// under its own (`admin::api`).
pub const LEGACY_PREFIXES: [&str; 3] = ["/auth", "/city_serv", "/sla_manager"];

/// Security scheme names (annotations spell them as literals: utoipa
/// takes nothing else there).
pub const JWT: &str = "jwt";
pub const ADMIN_TOKEN: &str = "admin_token";

/// The content types [`Fields`](super::Fields) reads; the first is the one
/// annotations declare.
const BODY_TYPES: [&str; 3] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "meteobot",
        description = "The admin port's REST API: accounts and weather subscriptions \
            (the reference authService and cityService), the SLA manager, and the \
            service's health and metrics. Every route is served at its bare path and \
            under the reference gateway's prefix (/auth, /city_serv, /sla_manager). \
            Bodies are accepted as JSON, application/x-www-form-urlencoded or \
            multipart/form-data, with the same fields. Errors are JSON: `state` and \
            `message` (the ApiError schema)."
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "accounts", description = "Register, log in and out (JWT bearer tokens)"),
        (name = "subscriptions", description = "Weather alert subscriptions of the token's chat"),
        (name = "sla", description = "The SLA manager (Bearer ADMIN_TOKEN when it is set)"),
        (name = "operations", description = "Liveness, readiness and Prometheus metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token /register or /login answered. The subscription routes \
                         also take it as a `token` body field, and /cityevents/{token} in \
                         its path, for the reference clients.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The server's ADMIN_TOKEN. Without one configured (allowed on a \
                         loopback address only) the SLA routes are open.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Applies the rules of the module's header to every operation.
pub fn finish(mut doc: Document) -> Document {
    let mut bodies = BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let prefix = LEGACY_PREFIXES.iter().find(|p| {
            path.strip_prefix(**p)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if let Some(prefix) = prefix {
                legacy_spelling(operation, prefix);
            }
            every_body_type(operation);
            error_bodies(operation);
            bodies.extend(body_schemas(operation));
        }
    }
    if let Some(components) = &mut doc.components {
        for name in bodies {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
                object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(
                    RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(SchemaType::from_iter([
                                Type::String,
                                Type::Number,
                                Type::Boolean,
                                Type::Null,
                            ]))
                            .build(),
                    )),
                )));
            }
        }
    }
    doc
}

/// The component names of an operation's request body schemas.
fn body_schemas(operation: &Operation) -> Vec<String> {
    let Some(body) = &operation.request_body else {
        return Vec::new();
    };
    body.content
        .values()
        .filter_map(|content| match &content.schema {
            Some(RefOr::Ref(r)) => r
                .ref_location
                .strip_prefix("#/components/schemas/")
                .map(str::to_owned),
            _ => None,
        })
        .collect()
}

/// Operation ids are unique in a document: `/auth/login` is `auth_login`.
fn legacy_spelling(operation: &mut Operation, prefix: &str) {
    let name = prefix.trim_start_matches('/');
    if let Some(id) = &mut operation.operation_id {
        *id = format!("{name}_{id}");
    }
    let note = format!("The same operation under the reference gateway's `{prefix}` prefix.");
    operation.description = Some(match operation.description.take() {
        Some(text) => format!("{text}\n\n{note}"),
        None => note,
    });
}

fn every_body_type(operation: &mut Operation) {
    let Some(body) = &mut operation.request_body else {
        return;
    };
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let named = one_of.items.iter().find(|s| matches!(s, RefOr::Ref(_)));
            content.schema = named.cloned().or(content.schema.take());
        }
    }
    let Some(json) = body.content.get(BODY_TYPES[0]).cloned() else {
        return;
    };
    for kind in &BODY_TYPES[1..] {
        body.content
            .entry((*kind).to_owned())
            .or_insert_with(|| json.clone());
    }
}

fn error_bodies(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('4') && !status.starts_with('5') {
            continue;
        }
        if response.content.is_empty() {
            response.content.insert(
                BODY_TYPES[0].to_owned(),
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ApiError",
                )))),
            );
        }
        match status.as_str() {
            "429" => retry_after(response, true),
            "503" => retry_after(response, false),
            _ => {}
        }
    }
}

/// 429 always says when to retry; 503 does when the store was busy (an
/// upstream that is down gives no estimate). utoipa 5's `Header` cannot be
/// marked required, so the description says which.
fn retry_after(response: &mut Response, always: bool) {
    let description = if always {
        "Seconds to wait before retrying (always sent)"
    } else {
        "Seconds to wait before retrying (sent when the database was busy)"
    };
    let header = HeaderBuilder::new()
        .schema(Object::with_type(Type::Integer))
        .description(Some(description))
        .build();
    response
        .headers
        .entry("Retry-After".to_owned())
        .or_insert(header);
}

/// `/openapi.json` and the Swagger UI page at `/docs` (plus its assets).
pub fn serve<S: Clone + Send + Sync + 'static>(doc: Document) -> Router<S> {
    // validator_url "none": Swagger UI would otherwise send the document
    // to validator.swagger.io, an external host.
    let config = Config::new([DOCUMENT_PATH]).validator_url("none");
    Router::from(
        SwaggerUi::new(DOCS_PATH)
            .url(DOCUMENT_PATH, doc)
            .config(config),
    )
}
