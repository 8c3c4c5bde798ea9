//! The worked examples of the AWS filter pattern documentation, one table per
//! section of <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! Cells the docs leave open follow the crate-level choices; they are marked
//! "derived".

use mamori_pattern::{MetricTransformation, Pattern, test_messages};

const E1: &str = "[ERROR 400] BAD REQUEST";
const E2: &str = "[ERROR 401] UNAUTHORIZED REQUEST";
const E3: &str = "[ERROR 419] MISSING ARGUMENTS";
const E4: &str = "[ERROR 420] INVALID ARGUMENTS";
const E5: &str = "[ERROR 500] INTERNAL SERVER ERROR";
const E6: &str = "[SUCCESS 200] AUTHORIZED REQUEST";

fn check(pattern: &str, event: &str, want: bool) {
    let compiled = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
    assert_eq!(compiled.matches(event), want, "pattern={pattern:?} event={event:?}");
    // The canonical spelling behaves the same.
    let reparsed = Pattern::parse(&compiled.to_string()).unwrap();
    assert_eq!(reparsed, compiled, "round trip of {pattern:?}");
    assert_eq!(reparsed.matches(event), want, "canonical {compiled} on {event:?}");
}

// "Matching terms in unstructured log events":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-events
#[test]
fn unstructured_terms() {
    let events = [E1, E2, E3, E4, E5, E6];
    let cases = [
        // pattern                    E1     E2     E3     E4     E5     E6
        ("ERROR", [true, true, true, true, true, false]),
        ("ERROR ARGUMENTS", [false, false, true, true, false, false]),
        ("?ERROR ?ARGUMENTS", [true, true, true, true, true, false]),
        ("\"INTERNAL SERVER ERROR\"", [false, false, false, false, true, false]),
        ("ERROR -ARGUMENTS", [true, true, false, false, true, false]),
        ("%AUTHORIZED%", [false, true, false, false, false, true]),
        ("\" \"", [true, true, true, true, true, true]),
        ("", [true, true, true, true, true, true]),
    ];
    for (pattern, wants) in cases {
        for (event, want) in events.iter().zip(wants) {
            check(pattern, event, want);
        }
    }
}

// Term semantics the docs leave open (derived, see the crate docs).
#[test]
fn term_details() {
    let cases = [
        // pattern               event                          matches
        ("AUTHORIZED", E2, false), // whole tokens only
        ("AUTHORIZED", E6, true),
        ("\"AUTHORIZED\"", E2, true), // quoted: substring
        ("error", E1, false),         // case-sensitive
        ("400", E1, true),
        ("ERROR ?BAD ?MISSING", E3, true),
        ("ERROR ?BAD ?MISSING", E4, false),
        ("-DEBUG", "INFO ok", true),
        ("-DEBUG", "DEBUG: x", false),
        ("-\"BAD REQUEST\"", E1, false),
        ("ERROR_CODE", "x ERROR_CODE=5", true),
        ("ERROR", "x ERROR_CODE=5", false),
        ("\" \"", "nospace", true), // the documented match-everything idiom
        ("\"\"", "", true),
        ("日本", "ログ 日本 です", true),
    ];
    for (pattern, event, want) in cases {
        check(pattern, event, want);
    }
}

// "Using filter patterns to match terms in JSON log events":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-json-log-events
#[test]
fn json_examples() {
    let j1 = r#"{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","arrayKey":["value","another value"],"objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null,"ThisFlag":true}"#;
    let j2 = r#"{"user":{"id":1,"email":"John.Stiles@example.com"},"users":[{"id":2,"email":"John.Doe@example.com"},{"id":3,"email":"Jane.Doe@example.com"}],"actions":["GET","PUT","DELETE"],"coordinates":[[0,1,2],[4,5,6],[7,8,9]]}"#;
    let cases = [
        // pattern                                                    event  matches
        (r#"{ $.eventType = "UpdateTrail" }"#, j1, true),
        ("{ $.sourceIPAddress != 123.123.* }", j1, true),
        ("{ $.sourceIPAddress = 111.111.* }", j1, true),
        (r#"{ $.arrayKey[0] = "value" }"#, j1, true),
        ("{ $.objectList[1].id = 2 }", j1, true),
        ("{ $.objectList[1].id > 1 }", j1, true),
        ("{ $.objectList[1].id < 2 }", j1, false),
        ("{ $.SomeObject IS NULL }", j1, true),
        ("{ $.SomeOtherObject NOT EXISTS }", j1, true),
        ("{ $.SomeObject NOT EXISTS }", j1, false),
        ("{ $.ThisFlag IS TRUE }", j1, true),
        ("{ $.ThisFlag IS FALSE }", j1, false),
        (r#"{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }"#, j1, true),
        (r#"{ $.arrayKey = "value" }"#, j1, false), // derived: selector ends on an array
        (r#"{ $.objectList[0] = "*" }"#, j1, false), // derived: ends on an object
        (r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#, j2, true),
        (
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }"#,
            j2,
            true,
        ),
        (
            r#"{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }"#,
            j2,
            false,
        ),
        (
            r#"{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }"#,
            j2,
            false,
        ),
        ("{ $.coordinates[0][1] = 1 }", j2, true),
        ("{ $.coordinates[2][2] >= 9 }", j2, true),
        ("{ $.actions[1] = %^P.T$% }", j2, true),
        ("{ $.actions[1] != %^P.T$% }", j2, false),
        // A JSON pattern never matches a non-JSON event.
        ("{ $.eventType = \"*\" }", "eventType UpdateTrail", false),
        ("{ $.eventType = \"*\" }", "[\"eventType\"]", false),
    ];
    for (pattern, event, want) in cases {
        check(pattern, event, want);
    }
}

// Numbers and type mixing (derived: quoting decides the type).
#[test]
fn json_numbers_and_types() {
    let ev = r#"{"code":400,"scode":"400","ratio":0.001,"big":1e3,"neg":-5,"s":"x"}"#;
    let cases = [
        ("{ $.code = 400 }", true),
        ("{ $.code = 400.0 }", true),
        ("{ $.code = 4e2 }", true),
        ("{ $.code != 401 }", true),
        ("{ $.scode = 400 }", false), // numeric vs string node
        (r#"{ $.scode = "400" }"#, true),
        (r#"{ $.code = "400" }"#, false), // string vs number node
        ("{ $.ratio = 1e-3 }", true),
        ("{ $.ratio <= 0.001 }", true),
        ("{ $.big = 1E+3 }", true),
        ("{ $.neg < -4.5 }", true),
        ("{ $.code = * }", true),
        ("{ $.s = * }", true),
        ("{ $.missing = * }", false),
        ("{ $.s > 1 }", false),
        ("{ $.missing != 1 }", false), // only NOT EXISTS matches an absent path
        (r#"{ $.missing != "x" }"#, false),
        ("{ $.code = 4* }", false), // bare wildcard is a string
    ];
    for (pattern, want) in cases {
        check(pattern, ev, want);
    }
}

// "Using filter patterns to match terms in space-delimited log events":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-space-delimited-log-events
#[test]
fn space_delimited_examples() {
    let s1 =
        r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
    let cases = [
        // pattern                                                                     event  matches
        ("[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]", s1, true),
        ("[..., request =*.html*, status_code = 4*, bytes]", s1, true),
        (
            "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
            s1,
            true,
        ),
        ("[ip, server, username, timestamp, request, status_code, bytes > 1000]", s1, true),
        ("[ip, server, username, timestamp, request, status_code, bytes > 2000]", s1, false),
        ("[ip, user, username, timestamp, request, status_code]", s1, false), // count must match
        ("[ip, ...]", s1, true),
        ("[..., bytes = 1534]", s1, true),
        ("[ip = 127.0.0.*, ..., status_code = 404, bytes]", s1, true),
        ("[ip = 10.*, ...]", s1, false),
        ("[w1=ERROR, w2]", "ERROR something", true),
        ("[w1=ERROR, w2]", "ERROR", false),
        ("[w1=ERROR, w2]", "WARN something", false),
        ("[w1!=ERROR && w1!=WARNING, w2]", "INFO x", true),
        ("[w1!=ERROR && w1!=WARNING, w2]", "WARNING x", false),
        ("[..., status >= 500 && status < 600]", "GET / 503", true),
        ("[..., status >= 500 && status < 600]", "GET / abc", false), // not a number
        ("[a, b = %^[0-9]+$%]", "x 123", true),
        ("[a, b = %^[0-9]+$%]", "x 12a", false),
        ("[a, ..., b, ...]", "1 2 3", true),
        ("[..., x = \"two words\", ...]", "a \"two words\" b", true),
    ];
    for (pattern, event, want) in cases {
        check(pattern, event, want);
    }
}

// Extracted values, as TestMetricFilter reports them:
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_TestMetricFilter.html
#[test]
fn extracted_values_space_delimited() {
    let s1 =
        r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
    let pattern = Pattern::parse(
        "[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
    )
    .unwrap();
    let got = pattern.extracted_values(s1);
    let want = [
        ("$bytes", "1534"),
        ("$ip", "127.0.0.1"),
        ("$request", "GET /index.html HTTP/1.0"),
        ("$status_code", "404"),
        ("$timestamp", "10/Oct/2000:13:25:15 -0700"),
        ("$user", "Prod"),
        ("$username", "frank"),
    ];
    assert_eq!(got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), want);
    assert!(pattern.extracted_values("no match").is_empty());
}

#[test]
fn extracted_values_json_and_test_messages() {
    let pattern =
        Pattern::parse(r#"{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }"#).unwrap();
    let events = [
        r#"{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111"}"#,
        "not json",
        r#"{"eventType":"DeleteTrail","sourceIPAddress":"123.123.0.1"}"#,
        r#"{"eventType":"CreateTrail","sourceIPAddress":"10.0.0.1"}"#,
    ];
    let res = test_messages(&pattern, &events);
    assert_eq!(res.iter().map(|m| m.event_number).collect::<Vec<_>>(), [1, 4]);
    assert_eq!(res[0].event_message, events[0]);
    assert_eq!(res[0].extracted_values["$.eventType"], "UpdateTrail");
    assert_eq!(res[0].extracted_values["$.sourceIPAddress"], "111.111.111.111");
    assert_eq!(res[1].extracted_values["$.eventType"], "CreateTrail");
}

// "Using metric filters to extract values from space-delimited / JSON events":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#FilterAndPatternSyntax-dimensions
#[test]
fn metric_extraction() {
    let s1 =
        r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
    let pattern =
        Pattern::parse("[ip, server, username, timestamp, request, status_code, bytes > 1000]")
            .unwrap();
    let mut t = MetricTransformation::new("$bytes");
    t.dimensions.insert("server".into(), "$server".into());
    let got = pattern.extract(s1, &t).unwrap().unwrap();
    assert_eq!(got.value, Some(1534.0));
    assert_eq!(got.dimensions, [("server".to_owned(), "Prod".to_owned())]);
    // A non-numeric value field gives no datapoint.
    let t = MetricTransformation::new("$username");
    assert_eq!(pattern.extract(s1, &t).unwrap().unwrap().value, None);
    // An unknown field is refused up front.
    assert!(pattern.extract(s1, &MetricTransformation::new("$nope")).is_err());
    assert!(pattern.extract(s1, &MetricTransformation::new("$.a")).is_err());

    let json =
        Pattern::parse(r#"{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }"#).unwrap();
    let ev = r#"{"eventType":"UpdateTrail","sourceIPAddress":"1.1.1.1","latency":"12.5","n":3}"#;
    let mut t = MetricTransformation::new("$.n");
    t.dimensions.insert("eventType".into(), "$.eventType".into());
    let got = json.extract(ev, &t).unwrap().unwrap();
    assert_eq!(got.value, Some(3.0));
    assert_eq!(got.dimensions, [("eventType".to_owned(), "UpdateTrail".to_owned())]);
    // Numeric strings count; a missing field or dimension gives no datapoint.
    assert_eq!(
        json.extract(ev, &MetricTransformation::new("$.latency")).unwrap().unwrap().value,
        Some(12.5)
    );
    assert_eq!(
        json.extract(ev, &MetricTransformation::new("$.absent")).unwrap().unwrap().value,
        None
    );
    let mut t = MetricTransformation::new("1");
    t.dimensions.insert("who".into(), "$.userIdentity.arn".into());
    let got = json.extract(ev, &t).unwrap().unwrap();
    assert_eq!((got.value, got.dimensions.len()), (None, 0));
    // No match, no contribution.
    assert_eq!(json.extract("{}", &MetricTransformation::new("1")).unwrap(), None);
    // API rules of MetricTransformation.
    let mut t = MetricTransformation::new("1");
    t.default_value = Some(0.0);
    assert!(json.extract(ev, &t).is_ok());
    t.dimensions.insert("a".into(), "$.eventType".into());
    assert!(json.extract(ev, &t).is_err());
    assert!(json.extract(ev, &MetricTransformation::new("one")).is_err());
}
