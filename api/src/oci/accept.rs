//! Content negotiation for manifests: which media types a client's `Accept` headers allow.
//! Clients send several headers, each a comma-separated list with parameters (`;q=0.5`); a
//! request without one, or with a wildcard, takes whatever is stored.

use axum::http::{HeaderMap, header};

/// The media types a request accepts; `None` means any.
#[derive(Debug, Clone, PartialEq)]
pub struct Accept(Option<Vec<String>>);

impl Accept {
    pub fn from_headers(headers: &HeaderMap) -> Accept {
        let mut types = Vec::new();
        for value in headers.get_all(header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut params = item.split(';');
                let media_type = params.next().unwrap_or("").trim().to_ascii_lowercase();
                if media_type.is_empty() {
                    continue;
                }
                // `q=0` is an explicit refusal of the type.
                let refused = params.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                if refused {
                    continue;
                }
                if media_type == "*/*" || media_type == "application/*" {
                    return Accept(None);
                }
                types.push(media_type);
            }
        }
        Accept((!types.is_empty()).then_some(types))
    }

    pub fn allows(&self, media_type: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t.eq_ignore_ascii_case(media_type)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(values: &[&str]) -> Accept {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        Accept::from_headers(&headers)
    }

    #[test]
    fn every_header_and_every_item_counts() {
        let a = accept(&[
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json; q=0.9, application/json",
        ]);
        assert!(a.allows("application/vnd.oci.image.manifest.v1+json"));
        assert!(a.allows("application/vnd.docker.distribution.manifest.v2+json"));
        assert!(!a.allows("application/vnd.oci.image.index.v1+json"));
    }

    #[test]
    fn none_or_a_wildcard_allows_anything_and_q_zero_refuses() {
        assert!(accept(&[]).allows("application/vnd.oci.image.index.v1+json"));
        assert!(accept(&["text/html, */*;q=0.1"]).allows("application/x"));
        assert!(accept(&["application/*"]).allows("application/x"));
        let a = accept(&["application/x;q=0, application/y"]);
        assert!(!a.allows("application/x"));
        assert!(a.allows("APPLICATION/Y"));
    }
}
