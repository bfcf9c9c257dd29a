//! The W3C Trace Context Level 2 `tracestate` header (section 3.3): parsing and writing.
//!
//! A `tracestate` carries vendor-specific `key=value` members next to the `traceparent`.
//! An invalid `tracestate` never invalidates the `traceparent`: [`TraceState::parse`] returns
//! `None` and the caller keeps propagating the trace without it.

use std::fmt;

/// The most members a `tracestate` list may hold (W3C Trace Context, section 3.3.1.1).
pub(crate) const MAX_MEMBERS: usize = 32;

/// The longest key and the longest value, in characters.
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;

/// A W3C `tracestate` list, valid by construction: every member passed the Level 2 grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TraceState {
    /// The canonical header: members joined with `,`, no whitespace, no empty members. Keys and
    /// values can hold neither `,` nor `=`, so the members are recovered by splitting this text;
    /// keeping only it makes `header()` free and equality mean "same list".
    header: String,
    /// Number of members in `header`.
    len: usize,
}

impl TraceState {
    /// The OpenTelemetry type, for its API (custom samplers, exporters given `SpanData`, the
    /// context bridge). That type's key rules are stricter than Level 2's (at most one `@`):
    /// a member it refuses is left out, the others kept in order. Our own wire formats write
    /// [`TraceState::header`] instead, and where a span's state comes back from that type
    /// unchanged, ours is kept ([`TraceState::from_otel_unless_unchanged`]).
    pub(crate) fn to_otel(&self) -> opentelemetry::trace::TraceState {
        if let Ok(whole) = self.header.parse() {
            return whole;
        }
        let members: Vec<(&str, &str)> = self.iter().collect();
        // `insert` puts a member first, so the list is built from its end.
        members
            .into_iter()
            .rev()
            .fold(opentelemetry::trace::TraceState::default(), |state, (k, v)| {
                state.insert(k, v).unwrap_or(state)
            })
    }

    /// From the OpenTelemetry type (a sampler's answer, another library's context); `None`
    /// when it is empty or not valid by the W3C grammar.
    pub(crate) fn from_otel(state: &opentelemetry::trace::TraceState) -> Option<TraceState> {
        TraceState::parse([state.header().as_bytes()])
    }

    /// `state` as ours, where it is not simply `original` handed through OpenTelemetry's
    /// type and back: then `original` itself, with the members that type cannot hold.
    pub(crate) fn from_otel_unless_unchanged(
        state: &opentelemetry::trace::TraceState,
        original: Option<&TraceState>,
    ) -> Option<TraceState> {
        match original {
            Some(original) if original.to_otel() == *state => Some(original.clone()),
            _ => TraceState::from_otel(state),
        }
    }
}

/// Why a `tracestate` member (or the whole list) is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InvalidMember {
    /// The key is empty, longer than 256 characters, does not start with a lowercase letter or a
    /// digit, or holds a character other than `a-z 0-9 _ - * / @`.
    Key,
    /// The value is empty, longer than 256 characters, ends with a space, or holds `,`, `=` or a
    /// character outside printable ASCII.
    Value,
    /// The member has no `=` between key and value.
    MissingEquals,
    /// The list has more than [`MAX_MEMBERS`] members.
    TooManyMembers,
}

impl fmt::Display for InvalidMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Key => {
                "invalid tracestate key: expected 1 to 256 of a-z 0-9 _ - * / @, starting with a-z or 0-9"
            }
            Self::Value => {
                "invalid tracestate value: expected 1 to 256 printable ASCII characters without ',' or '=', not ending with a space"
            }
            Self::MissingEquals => "invalid tracestate member: expected key=value",
            Self::TooManyMembers => "invalid tracestate: more than 32 list members",
        })
    }
}

impl std::error::Error for InvalidMember {}

/// Whether `key` is a valid Level 2 `tracestate` key:
/// `( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )`.
pub(crate) fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let starts_well = matches!(bytes.first(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit());
    // Level 2 dropped Level 1's `tenant@system` form: `@` is just another allowed character.
    starts_well
        && bytes.len() <= MAX_KEY_LEN
        && bytes[1..].iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// Whether `value` is a valid `tracestate` value:
/// `0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E )`.
pub(crate) fn is_valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_VALUE_LEN).contains(&bytes.len())
        && bytes.iter().all(|&c| (b' '..=b'~').contains(&c) && c != b',' && c != b'=')
        // The last character must not be a space, so that OWS after a member is unambiguous.
        && bytes.last() != Some(&b' ')
}

impl TraceState {
    /// Parses the values of every `tracestate` header of a request, in order (one pass per
    /// header; no allocation when the iterator is empty). `None` when there is none, when the
    /// list is empty after dropping empty members, or when it is invalid (then the whole state is
    /// discarded).
    pub(crate) fn parse<'a>(headers: impl IntoIterator<Item = &'a [u8]>) -> Option<TraceState> {
        Self::try_parse(headers).ok().flatten()
    }

    /// [`TraceState::parse`], telling why an invalid list is discarded. `Ok(None)` for an empty
    /// list.
    fn try_parse<'a>(
        headers: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<TraceState>, InvalidMember> {
        // `String::new` does not allocate: an absent header costs nothing.
        let mut state = TraceState {
            header: String::new(),
            len: 0,
        };
        // Counts every non-empty member received, duplicates included: the limit applies to the
        // list as sent, and it bounds the work done on a hostile header.
        let mut received = 0;
        // Several headers combine as if joined with "," (RFC 9110 section 5.3), so parsing each
        // one in turn into the same list is the same as parsing the joined value.
        for header in headers {
            for member in header
                .split(|&c| c == b',')
                .map(trim_ows)
                .filter(|m| !m.is_empty())
            {
                received += 1;
                if received > MAX_MEMBERS {
                    return Err(InvalidMember::TooManyMembers);
                }
                let (key, value) = split_member(member)?;
                // A duplicated key keeps its first occurrence.
                if state.get(key).is_none() {
                    state.push(key, value);
                }
            }
        }
        Ok((state.len > 0).then_some(state))
    }

    /// The list as one header value: members joined with "," (no spaces), in order. Always valid
    /// by the grammar.
    pub(crate) fn header(&self) -> &str {
        &self.header
    }

    /// Number of members.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value of `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|&(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        // The filter only matters for the empty list being built by `try_parse`, whose header ""
        // still splits into one (empty) piece. Every stored member has exactly one `=`.
        self.header
            .split(',')
            .filter(|member| !member.is_empty())
            .map(|member| member.split_once('=').unwrap_or((member, "")))
    }

    /// Adds or updates our own entry: `key=value` goes FIRST (any old entry of that key removed)
    /// and the list is cut to 32 members (the last ones dropped). Err(InvalidMember) naming what
    /// is wrong when key or value break the grammar.
    ///
    /// The writer's rule, kept with the parser so the list we send stays valid; nothing adds an
    /// entry of ours yet (OpenTelemetry's `ot=` sampling threshold would be the first).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn with_first(&self, key: &str, value: &str) -> Result<TraceState, InvalidMember> {
        if !is_valid_key(key) {
            return Err(InvalidMember::Key);
        }
        if !is_valid_value(value) {
            return Err(InvalidMember::Value);
        }
        let capacity = key.len() + 1 + value.len() + 1 + self.header.len();
        let mut next = TraceState {
            header: String::with_capacity(capacity),
            len: 0,
        };
        next.push(key, value);
        // The spec says the members pushed out of a full list are the right-most ones.
        for (k, v) in self.iter().filter(|&(k, _)| k != key).take(MAX_MEMBERS - 1) {
            next.push(k, v);
        }
        Ok(next)
    }

    /// Appends a member already checked against the grammar.
    fn push(&mut self, key: &str, value: &str) {
        if self.len > 0 {
            self.header.push(',');
        }
        self.header.push_str(key);
        self.header.push('=');
        self.header.push_str(value);
        self.len += 1;
    }
}

/// Removes the optional whitespace (spaces and tabs) around a list member.
fn trim_ows(mut member: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = member {
        member = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = member {
        member = rest;
    }
    member
}

/// Splits a non-empty, trimmed member at its first `=` and checks both halves. There is no
/// whitespace allowed around the `=`; a second `=` lands in the value, which rejects it.
fn split_member(member: &[u8]) -> Result<(&str, &str), InvalidMember> {
    let eq = member
        .iter()
        .position(|&c| c == b'=')
        .ok_or(InvalidMember::MissingEquals)?;
    // Non-UTF-8 bytes fail `from_utf8`; non-ASCII UTF-8 fails the grammar checks.
    let key = std::str::from_utf8(&member[..eq])
        .ok()
        .filter(|k| is_valid_key(k));
    let value = std::str::from_utf8(&member[eq + 1..])
        .ok()
        .filter(|v| is_valid_value(v));
    Ok((key.ok_or(InvalidMember::Key)?, value.ok_or(InvalidMember::Value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses one header value.
    fn parse(value: &str) -> Option<TraceState> {
        TraceState::parse([value.as_bytes()])
    }

    #[test]
    fn opentelemetrys_type_gets_the_members_it_accepts_in_order() {
        let ours = parse("a=1,foo@@bar=2,b=3").unwrap();
        assert_eq!(ours.to_otel().header(), "a=1,b=3");
        let plain = parse("a=1,b=2").unwrap();
        assert_eq!(plain.to_otel().header(), "a=1,b=2");
    }

    #[test]
    fn a_state_back_from_opentelemetry_unchanged_is_ours_again() {
        let ours = parse("a=1,foo@@bar=2").unwrap();
        let round_trip = TraceState::from_otel_unless_unchanged(&ours.to_otel(), Some(&ours));
        assert_eq!(round_trip, Some(ours.clone()));
        let changed = "c=9,a=1".parse().unwrap();
        let taken = TraceState::from_otel_unless_unchanged(&changed, Some(&ours));
        assert_eq!(taken.map(|t| t.header().to_owned()), Some("c=9,a=1".to_owned()));
    }

    /// The canonical header of one parsed header value.
    fn header(value: &str) -> Option<String> {
        parse(value).map(|state| state.header().to_owned())
    }

    /// Why one header value is discarded.
    fn error(value: &str) -> InvalidMember {
        TraceState::try_parse([value.as_bytes()]).unwrap_err()
    }

    /// A list of `n` distinct members `k0=v0,k1=v1,…`.
    fn members(n: usize) -> String {
        (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",")
    }

    #[test]
    fn no_header_is_none() {
        assert_eq!(TraceState::parse(std::iter::empty::<&[u8]>()), None);
    }

    #[test]
    fn only_empty_members_is_none() {
        assert_eq!(parse(""), None);
        assert_eq!(parse(" , \t,,"), None);
        assert_eq!(TraceState::try_parse([&b" , "[..]]), Ok(None));
    }

    #[test]
    fn simple_list_keeps_members_in_order() {
        let state = parse("foo=1,bar=2").unwrap();
        assert_eq!(state.header(), "foo=1,bar=2");
        assert_eq!(state.len(), 2);
        assert_eq!(state.iter().collect::<Vec<_>>(), [("foo", "1"), ("bar", "2")]);
    }

    #[test]
    fn get_finds_values_by_key() {
        let state = parse("foo=1,bar=2").unwrap();
        assert_eq!(state.get("bar"), Some("2"));
        assert_eq!(state.get("foo"), Some("1"));
        assert_eq!(state.get("baz"), None);
    }

    #[test]
    fn empty_value_is_invalid() {
        assert_eq!(parse("foo=,bar=3"), None);
        assert_eq!(error("foo=,bar=3"), InvalidMember::Value);
    }

    #[test]
    fn second_equals_sign_is_invalid() {
        assert_eq!(parse("foo=bar=baz"), None);
        assert_eq!(error("foo=bar=baz"), InvalidMember::Value);
    }

    #[test]
    fn member_without_equals_is_invalid() {
        assert_eq!(parse("foo=1,bar"), None);
        assert_eq!(error("foo=1,bar"), InvalidMember::MissingEquals);
    }

    #[test]
    fn empty_key_is_invalid() {
        assert_eq!(error("=1"), InvalidMember::Key);
    }

    #[test]
    fn thirty_three_members_is_none() {
        assert_eq!(parse(&members(33)), None);
        assert_eq!(error(&members(33)), InvalidMember::TooManyMembers);
    }

    #[test]
    fn thirty_two_members_are_kept() {
        let state = parse(&members(32)).unwrap();
        assert_eq!(state.len(), 32);
        assert_eq!(state.header(), members(32));
    }

    #[test]
    fn empty_members_do_not_count_toward_the_limit() {
        let list = format!(",,{},,", members(32).replace(',', ",,"));
        assert_eq!(parse(&list).unwrap().len(), 32);
    }

    #[test]
    fn duplicates_count_toward_the_limit() {
        // The limit applies to the list as received (decided: 33 members, one duplicated).
        assert_eq!(parse(&format!("{},k0=x", members(32))), None);
    }

    #[test]
    fn repeated_at_signs_in_key_are_valid() {
        assert_eq!(header("foo@@bar=1,bar=2").as_deref(), Some("foo@@bar=1,bar=2"));
    }

    #[test]
    fn trailing_at_sign_in_key_is_valid() {
        assert_eq!(header("foo@=1,bar=2").as_deref(), Some("foo@=1,bar=2"));
    }

    #[test]
    fn leading_at_sign_in_key_is_invalid() {
        assert_eq!(parse("@foo=1,bar=2"), None);
        assert_eq!(error("@foo=1,bar=2"), InvalidMember::Key);
    }

    #[test]
    fn key_may_start_with_a_digit() {
        assert!(is_valid_key("0abc"));
    }

    #[test]
    fn key_of_256_chars_is_valid() {
        let list = format!("{}=1,foo=1", "k".repeat(256));
        assert_eq!(parse(&list).unwrap().len(), 2);
    }

    #[test]
    fn key_of_257_chars_is_invalid() {
        assert_eq!(parse(&format!("{}=1,foo=1", "k".repeat(257))), None);
    }

    #[test]
    fn level_1_multi_tenant_key_shape_is_valid() {
        let key = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        assert!(is_valid_key(&key));
        assert_eq!(parse(&format!("{key}=1")).unwrap().get(&key), Some("1"));
    }

    #[test]
    fn key_characters_outside_the_set_are_invalid() {
        for key in [
            "Foo", "fOo", "foo.bar", "foo bar", "foo+", "_foo", "-foo", "*foo", "/foo",
        ] {
            assert!(!is_valid_key(key), "{key:?}");
        }
        assert!(is_valid_key("a_-*/@0"));
    }

    #[test]
    fn uppercase_key_is_none() {
        assert_eq!(parse("Foo=1"), None);
    }

    #[test]
    fn value_of_256_chars_is_valid() {
        let value = "v".repeat(256);
        assert_eq!(parse(&format!("foo={value}")).unwrap().get("foo"), Some(&*value));
    }

    #[test]
    fn value_of_257_chars_is_invalid() {
        assert_eq!(parse(&format!("foo={}", "v".repeat(257))), None);
    }

    #[test]
    fn trailing_ows_after_value_is_trimmed() {
        assert_eq!(header("foo=bar ").as_deref(), Some("foo=bar"));
        // Space then tab: both are OWS around the member, so the value is `bar`.
        assert_eq!(header("foo=bar \t,baz=1").as_deref(), Some("foo=bar,baz=1"));
    }

    #[test]
    fn inner_spaces_in_value_are_valid() {
        assert_eq!(parse("foo=a b  c").unwrap().get("foo"), Some("a b  c"));
    }

    #[test]
    fn leading_space_in_value_is_valid() {
        // The grammar allows %x20 anywhere but last; only OWS around the member is trimmed.
        assert_eq!(parse("foo= bar").unwrap().get("foo"), Some(" bar"));
    }

    #[test]
    fn value_ending_in_space_is_invalid_for_with_first() {
        assert!(!is_valid_value("bar "));
        assert!(!is_valid_value(" "));
    }

    #[test]
    fn tab_inside_value_is_invalid() {
        assert_eq!(parse("foo=ba\tr"), None);
    }

    #[test]
    fn value_with_equals_or_comma_is_invalid() {
        assert!(!is_valid_value("a=b"));
        assert!(!is_valid_value("a,b"));
        assert!(is_valid_value("!~\"#+-<>?"));
    }

    #[test]
    fn ows_around_equals_is_invalid() {
        assert_eq!(parse("foo =1"), None);
        assert_eq!(parse("foo=\t1"), None);
    }

    #[test]
    fn spaces_and_tabs_around_members_are_trimmed() {
        assert_eq!(header(" \tfoo=1 ,\t bar=2\t ").as_deref(), Some("foo=1,bar=2"));
    }

    #[test]
    fn empty_members_are_dropped() {
        assert_eq!(header("foo=1,,bar=2").as_deref(), Some("foo=1,bar=2"));
        assert_eq!(header(",foo=1,").as_deref(), Some("foo=1"));
        assert_eq!(header(", foo=1 ,").as_deref(), Some("foo=1"));
    }

    #[test]
    fn several_headers_are_joined_in_order() {
        let state = TraceState::parse(["foo=1", "bar=2"].map(str::as_bytes)).unwrap();
        assert_eq!(state.header(), "foo=1,bar=2");
    }

    #[test]
    fn members_are_counted_across_headers() {
        let (first, second) = (members(16), members(33).split_off(members(16).len() + 1));
        assert_eq!(TraceState::parse([first.as_bytes(), second.as_bytes()]), None);
    }

    #[test]
    fn invalid_second_header_discards_all() {
        assert_eq!(TraceState::parse(["foo=1", "Bar=2"].map(str::as_bytes)), None);
    }

    #[test]
    fn duplicate_key_keeps_the_first() {
        assert_eq!(header("foo=1,foo=2").as_deref(), Some("foo=1"));
        assert_eq!(header("foo=1,bar=2,foo=3").as_deref(), Some("foo=1,bar=2"));
    }

    #[test]
    fn non_ascii_is_none() {
        assert_eq!(parse("foo=caf\u{e9}"), None);
        assert_eq!(parse("f\u{f6}o=1"), None);
        assert_eq!(TraceState::parse([&b"foo=\xff"[..]]), None);
    }

    #[test]
    fn control_characters_are_none() {
        assert_eq!(parse("foo=1\x7f"), None);
        assert_eq!(parse("foo=1,\x00"), None);
        assert_eq!(parse("foo=1\r\n"), None);
    }

    #[test]
    fn with_first_puts_the_entry_first() {
        let state = parse("foo=1,bar=2").unwrap().with_first("me", "x").unwrap();
        assert_eq!(state.header(), "me=x,foo=1,bar=2");
        assert_eq!(state.len(), 3);
    }

    #[test]
    fn with_first_replaces_an_existing_entry() {
        let state = parse("foo=1,me=old,bar=2")
            .unwrap()
            .with_first("me", "new")
            .unwrap();
        assert_eq!(state.header(), "me=new,foo=1,bar=2");
        assert_eq!(state.len(), 3);
    }

    #[test]
    fn with_first_cuts_to_32_members() {
        let state = parse(&members(32)).unwrap().with_first("me", "x").unwrap();
        assert_eq!(state.len(), MAX_MEMBERS);
        assert_eq!(state.header(), format!("me=x,{}", members(31)));
        assert_eq!(state.get("k31"), None);
    }

    #[test]
    fn with_first_keeps_32_when_replacing_in_a_full_list() {
        let state = parse(&members(32)).unwrap().with_first("k5", "x").unwrap();
        assert_eq!(state.len(), MAX_MEMBERS);
        assert_eq!(state.get("k31"), Some("v31"));
    }

    #[test]
    fn with_first_rejects_a_bad_key() {
        let state = parse("foo=1").unwrap();
        assert_eq!(state.with_first("Me", "x"), Err(InvalidMember::Key));
        assert_eq!(state.with_first("", "x"), Err(InvalidMember::Key));
        assert_eq!(state.with_first("me=", "x"), Err(InvalidMember::Key));
    }

    #[test]
    fn with_first_rejects_a_bad_value() {
        let state = parse("foo=1").unwrap();
        for value in ["", "a,b", "a=b", "x ", "caf\u{e9}", &"v".repeat(257)] {
            assert_eq!(
                state.with_first("me", value),
                Err(InvalidMember::Value),
                "{value:?}"
            );
        }
    }

    #[test]
    fn errors_display_what_is_wrong() {
        assert!(InvalidMember::Key.to_string().contains("key"));
        assert!(InvalidMember::Value.to_string().contains("value"));
        assert!(InvalidMember::TooManyMembers.to_string().contains("32"));
        let _: &dyn std::error::Error = &InvalidMember::MissingEquals;
    }

    #[test]
    fn header_round_trips() {
        let long_key = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        let inputs = [
            "foo=1".to_owned(),
            " foo=1 ,\t,bar= a b ,foo=2 ".to_owned(),
            "foo@@bar=!~\"#,0x=<>?".to_owned(),
            format!("{long_key}={}", "v".repeat(256)),
            members(32),
        ];
        for input in inputs {
            let state = parse(&input).unwrap();
            assert_eq!(parse(state.header()).as_ref(), Some(&state), "{input:?}");
        }
        let with_first = parse("foo=1").unwrap().with_first("me", " x").unwrap();
        assert_eq!(parse(with_first.header()), Some(with_first));
    }
}
