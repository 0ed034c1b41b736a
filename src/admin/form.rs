//! `Fields`: the body of a REST call as flat string fields, whatever the
//! client sent — `multipart/form-data` (browsers' `FormData`, what the
//! reference HTML clients post), `application/x-www-form-urlencoded`, or a
//! JSON object. Every failure is an [`ApiError`], so bad bodies get our JSON.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;

use super::error::ApiError;

#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A field that must be present and not blank.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ApiError::missing(name)),
        }
    }

    /// The first present, non-blank field among spellings of one name.
    pub fn first_of(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .filter_map(|n| self.get(n))
            .find(|v| !v.trim().is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(req, state)
                .await
                .map_err(|e| malformed_multipart(e.status(), e.body_text()))?;
            return from_multipart(multipart).await;
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), 1, e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if content_type.starts_with("application/json")
            || (content_type.is_empty() && looks_like_json)
        {
            from_json(&bytes)
        } else {
            from_urlencoded(&bytes)
        }
    }
}

async fn from_multipart(mut multipart: Multipart) -> Result<Fields, ApiError> {
    let mut fields = HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| malformed_multipart(e.status(), e.body_text()))?
    {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let text = field
            .text()
            .await
            .map_err(|e| malformed_multipart(e.status(), e.body_text()))?;
        fields.insert(name, text);
    }
    Ok(Fields(fields))
}

/// multer's own words ("failed to read headers") with what they are about;
/// the status is its own (400, or 413 over the body limit, said as is).
fn malformed_multipart(status: StatusCode, why: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, 1, why);
    }
    ApiError::new(
        status,
        1,
        format!("malformed multipart/form-data body: {why}"),
    )
}

fn from_json(bytes: &[u8]) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("malformed JSON body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid("the JSON body must be an object"));
    };
    let mut fields = HashMap::new();
    for (name, value) in map {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            // Spelled out, not 1/0: flags read either way, but a number field
            // (a lead time in minutes, a chat id) must not take `true` for 1.
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(ApiError::invalid(format!(
                    "field {name} must be a string, number or boolean"
                )));
            }
        };
        fields.insert(name, text);
    }
    Ok(Fields(fields))
}

fn from_urlencoded(bytes: &[u8]) -> Result<Fields, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ApiError::invalid(format!("malformed form body: {e}")))?;
    Ok(Fields(pairs.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_become_strings() {
        let f = from_json(br#"{"a":"x","b":2.5,"c":true,"d":null}"#).unwrap();
        assert_eq!(
            (f.get("a"), f.get("b"), f.get("c"), f.get("d")),
            (Some("x"), Some("2.5"), Some("true"), None)
        );
        assert!(from_json(b"[1]").is_err());
        assert!(from_json(b"{\"a\":{}}").is_err());
        assert!(from_json(b"{oops").is_err());
    }

    #[test]
    fn urlencoded_and_required() {
        let f = from_urlencoded(b"city_name=New+York&max_temp=&x=%C3%AC").unwrap();
        assert_eq!(f.required("city_name").unwrap(), "New York");
        assert_eq!(f.get("x"), Some("ì"));
        assert_eq!(
            f.required("max_temp").unwrap_err().message,
            "missing field: max_temp"
        );
        assert_eq!(f.first_of(&["max_temp", "x"]), Some("ì"));
    }
}
