//! Which HTTP attribute names the `api_request` span carries.
//!
//! The legacy names (`http.method`, `http.url`, `http.status_code`) by default; the stable
//! ones (`http.request.method`, `url.full`, `http.response.status_code`) when
//! `OTEL_SEMCONV_STABILITY_OPT_IN` contains `http` (only those) or `http/dup` (both), as
//! the OpenTelemetry migration guide asks.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HttpNames {
    pub legacy: bool,
    pub stable: bool,
}

impl HttpNames {
    pub fn from_opt_in(value: Option<&str>) -> Self {
        let entries: Vec<&str> = value.unwrap_or("").split(',').map(str::trim).collect();
        if entries.contains(&"http/dup") {
            HttpNames {
                legacy: true,
                stable: true,
            }
        } else if entries.contains(&"http") {
            HttpNames {
                legacy: false,
                stable: true,
            }
        } else {
            HttpNames {
                legacy: true,
                stable: false,
            }
        }
    }

    pub fn method(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.method", "http.request.method")
    }

    pub fn url(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.url", "url.full")
    }

    pub fn status(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.status_code", "http.response.status_code")
    }

    fn pick(self, legacy: &'static str, stable: &'static str) -> impl Iterator<Item = &'static str> {
        [self.legacy.then_some(legacy), self.stable.then_some(stable)]
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_values_select_names() {
        let names = |opt_in, pick: fn(HttpNames) -> Vec<&'static str>| pick(HttpNames::from_opt_in(opt_in));
        assert_eq!(names(None, |n| n.method().collect()), ["http.method"]);
        assert_eq!(names(Some("http"), |n| n.url().collect()), ["url.full"]);
        assert_eq!(
            names(Some("database, http/dup"), |n| n.status().collect()),
            ["http.status_code", "http.response.status_code"]
        );
    }
}
