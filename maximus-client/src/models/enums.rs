//! The service's enumerations, read leniently: any case, and a value this client does not
//! know yet is kept as `Other` (the service adds values as it grows; a client must not break
//! on them).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines a lenient enum: known variants matched without regard to ASCII case, `Other(text)`
/// keeping anything else as sent; written back in the service's own spelling.
macro_rules! lenient_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this client does not know, as the service sent it.
            Other(String),
        }

        impl $name {
            /// The service's spelling (what an `Other` holds, for an unknown value).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(text) => text,
                }
            }

            /// Reads `text`, ignoring ASCII case.
            pub fn from_text(text: &str) -> Self {
                $( if text.eq_ignore_ascii_case($text) { return $name::$variant; } )+
                $name::Other(text.to_owned())
            }
        }

        /// Compares with the service's text, ignoring ASCII case (`status == "healthy"`).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str().eq_ignore_ascii_case(other)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Ok($name::from_text(&text))
            }
        }
    };
}

lenient_enum! {
    /// The arousal band (`ArousalLevel` of the service's MCEA controller, written in lower
    /// case by the API; older releases wrote upper case).
    pub enum ArousalClassification {
        /// 0.0-0.2.
        Sleep = "sleep",
        /// 0.2-0.4.
        Drowsy = "drowsy",
        /// 0.4-0.6: the normal baseline.
        Relaxed = "relaxed",
        /// 0.6-0.8.
        Alert = "alert",
        /// 0.8-1.0.
        Hyperalert = "hyperalert",
        /// What the service reports when its arousal controller is not running.
        Unknown = "UNKNOWN",
    }
}

lenient_enum! {
    /// `system_health` of the consciousness state.
    pub enum SystemHealth {
        /// Every subsystem (TIG, ESGT, arousal) runs.
        Healthy = "HEALTHY",
        /// One is missing.
        Degraded = "DEGRADED",
        /// An emergency shutdown is in effect.
        EmergencyShutdown = "EMERGENCY_SHUTDOWN",
    }
}

lenient_enum! {
    /// `status` of `GET /health`.
    pub enum HealthStatus {
        /// Operational.
        Healthy = "healthy",
        /// Running with a component down.
        Degraded = "degraded",
        /// Not operational.
        Unhealthy = "unhealthy",
    }
}

lenient_enum! {
    /// A governance decision's risk.
    pub enum RiskLevel {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
}

lenient_enum! {
    /// Where a governance decision stands.
    pub enum DecisionStatus {
        /// Waiting for an operator.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
        /// Escalated.
        Escalated = "escalated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_reads_as_the_known_value() {
        for text in ["\"relaxed\"", "\"RELAXED\"", "\"Relaxed\""] {
            let value: ArousalClassification = serde_json::from_str(text).unwrap();
            assert_eq!(value, ArousalClassification::Relaxed, "{text}");
        }
    }

    #[test]
    fn an_unknown_value_is_kept_as_sent() {
        let value: ArousalClassification = serde_json::from_str("\"focused\"").unwrap();
        assert_eq!(value, ArousalClassification::Other("focused".into()));
        assert_eq!(value.to_string(), "focused");
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"focused\"");
    }

    #[test]
    fn written_in_the_services_spelling() {
        assert_eq!(
            serde_json::to_string(&SystemHealth::Healthy).unwrap(),
            "\"HEALTHY\""
        );
        assert_eq!(HealthStatus::Degraded.to_string(), "degraded");
    }

    #[test]
    fn compares_with_text_in_any_case() {
        assert_eq!(HealthStatus::Healthy, "healthy");
        assert_eq!(HealthStatus::Healthy, "HEALTHY");
        assert_ne!(HealthStatus::Degraded, "healthy");
    }

    #[test]
    fn a_non_string_is_an_error() {
        assert!(serde_json::from_str::<HealthStatus>("3").is_err());
    }
}
