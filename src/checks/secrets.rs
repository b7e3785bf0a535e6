//! Secrets: names that hold them, expressions whose value comes from one, and
//! literals that are one.

use std::sync::LazyLock;

use regex::RegexSet;
use tree_sitter::Node;

use super::{FileContext, arguments::format_keys_shown, text};
pub use crate::model::names::{secret_like, string_value};
use crate::model::syntax::NodeExt;
use crate::model::{
    names::bound_name,
    values::{
        Label, carries, in_dead_branch, known_empty, labelled_log_argument, refused_login_answer,
    },
};
use crate::rules::vocabulary::split_words;

/// Check `secret-name`: the node names a secret.
pub fn names_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    bound_name(node, ctx.source).is_some_and(|name| secret_like(ctx, &name))
}

/// Check `secret-sourced`: the expression's value comes from a secret (the
/// model's value flow), or is bound to a placeholder its log message labels as
/// one (`"password=%s", value`).
pub fn is_secret_sourced<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // A mapping given to a `%(name)s` format shows only the keys it names.
    if let Some(keys) = format_keys_shown(ctx, node) {
        return keys.iter().any(|key| ctx.vocabulary.is_secret_like(key))
            && !in_dead_branch(ctx, node);
    }
    (carries(ctx, node, Label::Secret) || labelled_log_argument(ctx, node))
        && !in_dead_branch(ctx, node)
        && !known_empty(ctx, node)
        && !refused_login_answer(ctx, node)
}

/// Well-known credential formats, matched anywhere in a string literal.
static CREDENTIAL_FORMATS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"\bgh[pousr]_[A-Za-z0-9]{36,}",
        r"\bgithub_pat_[A-Za-z0-9_]{22,}",
        r"\bAKIA[0-9A-Z]{16}\b",
        r"\bxox[abpr]-[0-9A-Za-z-]{10,}",
        r"\b[sr]k_live_[0-9A-Za-z]{6,}",
        r"\bAIza[0-9A-Za-z_\-]{35}",
        // The header alone is a marker code looks for, not a key: require key material.
        r"-----BEGIN ([A-Z]+ )*PRIVATE KEY-----(\\[rn]|\s)*[A-Za-z0-9+/=]{16,}",
        r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.",
    ])
    .expect("credential patterns compile")
});

/// What every credential format above starts with: a file holding none of
/// them holds no such secret.
pub const CREDENTIAL_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AKIA",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "sk_live_",
    "rk_live_",
    "AIza",
    "PRIVATE KEY-----",
    "eyJ",
];

/// Check `credential-format`: the node's text (a comment: a log or a request
/// pasted into the code) holds a secret in a well-known credential format.
pub fn has_credential_format<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    CREDENTIAL_FORMATS.is_match(ctx.text(node))
}

/// Values that stand in for a secret or name one, rather than being one,
/// whatever they are bound to.
fn is_placeholder(value: &str) -> bool {
    let trimmed = value.trim();
    let lower = trimmed.to_ascii_lowercase();
    let first = trimmed.chars().next().unwrap_or(' ');
    trimmed.chars().count() < 6
        || trimmed.chars().all(|c| c == first || "*.-_#?x".contains(c.to_ascii_lowercase()))
        || (trimmed.starts_with('<') && trimmed.ends_with('>'))
        || trimmed.contains('{')
        || trimmed.contains("%s")
        || trimmed.contains(char::is_whitespace)
        // snake_case words: a translation key or a field name (`invalid_auth`).
        || is_snake_case_words(trimmed)
        || ["changeme", "example", "dummy", "redacted", "placeholder", "your", "secret", "password", "token", "test",
            "hidden", "removed", "masked", "none", "null", "unknown", "undefined", "unbekannt", "onbekend", "inconnu"]
            .iter()
            .any(|word| {
                lower.starts_with(word)
                    || lower.trim_matches('*').starts_with(word)
                    // `pa$$word`, `p@ssw0rd`: the same words, spelled to look clever.
                    || unleet(&lower).starts_with(word)
            })
        // `dabcsauthtoken`: lower-case letters naming a token, a cookie's or
        // a field's name.
        || (trimmed.chars().all(|c| c.is_ascii_lowercase())
            && ["token", "auth", "password", "secret", "cookie", "session"]
                .iter()
                .any(|word| trimmed.contains(word)))
        // `ingress_session=**REDACTED**`: what a log shows in a secret's place.
        || lower.contains("redacted")
        || lower.contains("***")
        // `1234567890`: the digits in order, a stand-in.
        || "01234567890".contains(trimmed)
        // Too few distinct characters to be a secret: `00000000000000000000000000000001`.
        || distinct_chars(trimmed) < 4
        // A URL or a path: where a secret is sent or kept, not the secret.
        || trimmed.contains("://")
        || trimmed.starts_with('/')
        || is_relative_path(trimmed)
        || is_identifier_like(trimmed)
}

/// The letters that digits and signs stand for in `p@ssw0rd`.
fn unleet(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '$' | '5' => 's',
            '@' | '4' => 'a',
            '0' => 'o',
            '3' => 'e',
            '1' | '!' => 'i',
            other => other,
        })
        .collect()
}

/// A path of lower-case words (`jdev/sys/getkey2`, `authwithtoken/`): an API
/// command or a file's place, not random characters (a key with a `/` in it,
/// base64, mixes cases).
fn is_relative_path(value: &str) -> bool {
    value.contains('/')
        && value
            .split('/')
            .filter(|part| !part.is_empty())
            .all(|part| {
                part.starts_with(|c: char| c.is_ascii_lowercase())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            })
}

/// snake_case words, numbers allowed as words of their own: a translation or
/// error key (`invalid_auth`, `expected_32_characters`), not `dk_9f8e7d6c`.
fn is_snake_case_words(value: &str) -> bool {
    let parts: Vec<&str> = value.split('_').collect();
    parts.len() > 1
        && parts.iter().all(|part| {
            part.chars().all(|c| c.is_ascii_lowercase()) || part.chars().all(|c| c.is_ascii_digit())
        })
        && parts
            .iter()
            .any(|part| part.len() >= 3 && part.chars().all(|c| c.is_ascii_lowercase()))
}

fn distinct_chars(value: &str) -> usize {
    let mut seen: Vec<char> = value.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// A JSON field name (`powerToday`, `eBatChargeToday`) or an UPPER_SNAKE
/// enumeration value (`VENDOR_TOKEN_FILE`): words, not random characters. A
/// single upper-case word (`"SUPERSECRET"`) could be a password and is kept.
fn is_identifier_like(value: &str) -> bool {
    static FIELD_OR_ENUM: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^([a-z][a-z0-9]*([A-Z][a-z]{2,}[a-z0-9]*)+|[A-Z]+(_[A-Z]+)+)$")
            .expect("pattern compiles")
    });
    FIELD_OR_ENUM.is_match(value)
}

/// Names that say their value is not a real one (`DUMMY_SECRET`, `TEST_TOKEN`).
fn is_stand_in_name(name: &str) -> bool {
    split_words(name).iter().any(|word| {
        matches!(
            word.as_str(),
            "dummy"
                | "fake"
                | "example"
                | "sample"
                | "mock"
                | "test"
                | "demo"
                | "placeholder"
                | "zero"
        )
    })
}

/// A keyword of an entity description (`SensorEntityDescription(api_key="powerToday")`)
/// names a field of the device's data, whatever the keyword is called; so does
/// an item of a dict that describes an entity the same way (`{"icon": "mdi:counter",
/// "device_class": "distance", "api_key": "odometer"}`).
fn is_description_field<'t>(ctx: &FileContext<'t>, binding: Node<'t>, source: &[u8]) -> bool {
    const ENTITY_FIELDS: &[&str] = &[
        "icon",
        "device_class",
        "state_class",
        "unit_of_measurement",
        "native_unit_of_measurement",
        "entity_category",
        "translation_key",
    ];
    match binding.kind_name() {
        "keyword_argument" => ctx
            .parent(binding)
            .and_then(|arguments| ctx.parent(arguments))
            .and_then(|call| call.field("function"))
            .is_some_and(|callee| text(callee, source).ends_with("Description")),
        "pair" => ctx.parent(binding).is_some_and(|dict| {
            let mut cursor = dict.walk();
            dict.named_children(&mut cursor).any(|pair| {
                pair.field("key")
                    .and_then(|key| string_value(key, source))
                    .is_some_and(|key| ENTITY_FIELDS.contains(&key.as_str()))
            })
        }),
        _ => false,
    }
}

/// Check `hardcoded-secret`: a string literal bound to a secret-like name (by
/// assignment, keyword, dictionary key or default), that is a real-looking value.
pub fn is_hardcoded_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // Quotes included, a string this short holds fewer than the 6 characters
    // below which a value is a placeholder (and every credential format needs
    // more): most strings of a file (keys, names) are answered here.
    if node.byte_range().len() < 8 {
        return false;
    }
    let Some(value) = literal_text(node, ctx.source) else {
        return false;
    };
    if CREDENTIAL_FORMATS.is_match(&value) {
        return !is_public_client_key(ctx, &value);
    }
    // Most strings are no secret by their value alone: decide that before
    // looking at what they are bound to.
    if is_placeholder(&value) || names_a_field(&value) {
        return false;
    }
    let Some(binding) = ctx.parent(node) else {
        return false;
    };
    let key = match binding.kind_name() {
        "assignment" => binding.field("left"),
        "keyword_argument" | "default_parameter" | "typed_default_parameter" => {
            binding.field("name")
        }
        "pair" => binding.field("key"),
        _ => None,
    };
    let Some(key) = key.filter(|k| k.id() != node.id()) else {
        return false;
    };
    // `errors["webhook_id"] = "required"`: a form's error for that field.
    if key.kind_name() == "subscript"
        && key
            .field("value")
            .is_some_and(|container| ctx.text(container).ends_with("errors"))
    {
        return false;
    }
    // A form's default for a secret field is a hint the user sees and may keep:
    // a vendor's documented default (`"integration"`) is the device's, and only
    // key material written there is one secret every installation shares.
    let form_field = form_field_key(ctx, binding);
    if form_field.is_some() && !looks_like_key_material(&value) {
        return false;
    }
    let Some(name) = form_field.or_else(|| bound_name(key, ctx.source)) else {
        return false;
    };
    // `CONF_PASSWORD = "password"` names a key; `CONF_DEFAULT_CLIENT_SECRET =
    // "2mgjqpikbf..."` holds one.
    let is_key_constant = (name.starts_with("CONF_") || name.starts_with("ATTR_"))
        && !looks_like_key_material(&value);
    !is_key_constant
        && secret_like(ctx, &name)
        // The value spells its own key (`password="password"`, `API_KEY = "api-key"`),
        // or the word the name adds to the secret's (`TOKEN_KIND_ACCESS = "access"`,
        // `API_KEY_ACTIVE = "active"`: a label, a field of the API's answer).
        && !spells_name_end(&value, &name)
        // The value names a secret itself (`X_AUTH_TOKEN = "X-Supervisor-Token"`).
        && !ctx.vocabulary.is_secret_like(&value)
        && !is_stand_in_name(&name)
        && !is_description_field(ctx, binding, ctx.source)
        && !talks_to_hosted_search(ctx)
        && !is_public_client_key(ctx, &value)
}

/// `vol.Required(CONF_TOKEN, default="...")`: a form field's default is bound
/// to the field's key (`"token"`), not to the word `default`.
fn form_field_key<'t>(ctx: &FileContext<'t>, binding: Node<'t>) -> Option<String> {
    if binding.kind_name() != "keyword_argument"
        || binding.field("name").map(|n| ctx.text(n)) != Some("default")
    {
        return None;
    }
    let marker = ctx
        .parent(binding)
        .and_then(|list| ctx.parent(list))
        .filter(|call| call.kind_name() == "call")?;
    // A call that is no schema marker names no key (`key_name` reads none).
    crate::model::config_flow::marker_key(ctx, marker)
}

/// Are the value's words the name's last words (all of them, or those after a
/// secret word)?
fn spells_name_end(value: &str, name: &str) -> bool {
    let value = split_words(value.trim());
    let name = split_words(name);
    !value.is_empty() && name.ends_with(&value)
}

/// The text of a string literal without interpolation, or of adjacent ones
/// written as one (`"eyJhbGci..." "eyJzdWIi..."`, a token split over lines).
fn literal_text(node: Node, source: &[u8]) -> Option<String> {
    if node.kind_name() != "concatenated_string" {
        return string_value(node, source);
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .map(|part| string_value(part, source))
        .collect()
}

/// A long run of letters and digits with no words in it (`2mgjqpikbfuok8g4s44o...`):
/// key material, not the name of a configuration key.
fn looks_like_key_material(value: &str) -> bool {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let letters = value.chars().filter(char::is_ascii_alphabetic).count();
    value.len() >= 20
        && digits >= 4
        && letters >= 4
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '='))
        && !value.contains("__")
}

/// Values that name where a secret goes rather than hold one: header and
/// cookie names (`AUTH_KEY = "Authorization"`, `COOKIE = "PHPSESSID"`), and the
/// word for a password in the languages forms are written in (`"Passwort"`).
fn names_a_field(value: &str) -> bool {
    const FIELD_NAMES: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "www-authenticate",
        "set-cookie",
        "x-api-key",
        "phpsessid",
        "jsessionid",
        "asp.net_sessionid",
        "csrftoken",
        "passwort",
        "kennwort",
        "wachtwoord",
        "mot de passe",
        "contraseña",
        "senha",
        "lösenord",
        "salasana",
        "hasło",
        "heslo",
        "jelszó",
    ];
    let lower = value.trim().to_lowercase();
    // `x-vtoken`, `X-Auth-Token`: a header's name.
    let header_name = lower.strip_prefix("x-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    header_name || FIELD_NAMES.contains(&lower.as_str())
}

/// A key its service gives every client, so writing it down gives nothing away:
/// a Firebase API key (`AIza...`) in a file that uses Firebase (its
/// Authentication, or the Cloud Messaging registration of a vendor's app:
/// Google documents those keys as public project ids, shipped in every copy of
/// the app, unlike a Maps or YouTube key), a Gigya (SAP Customer Data Cloud)
/// site key (`3_...`, `4_...`: its data center's digit first).
fn is_public_client_key(ctx: &FileContext, value: &str) -> bool {
    (value.starts_with("AIza")
        && [
            "identitytoolkit.googleapis",
            "securetoken.googleapis",
            "firebase",
        ]
        .iter()
        .any(|host| ctx.mentions(host)))
        || (value.len() > 2
            && value.as_bytes()[0].is_ascii_digit()
            && value.as_bytes()[1] == b'_'
            && ctx.mentions("gigya"))
}

/// Does the file query a hosted service whose read-only keys are public by
/// design: a search service (Algolia, Meilisearch: the websites an
/// integration scrapes send them from every visitor's browser) or a content
/// delivery API (Contentstack's delivery tokens, made for client-side code)?
/// A key written in such a file is that key, not an account's credential.
fn talks_to_hosted_search(ctx: &FileContext) -> bool {
    ["algolia", "meilisearch", "contentstack"]
        .iter()
        .any(|service| ctx.mentions(service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{Snippet, any_passes, passes};

    /// Is the first expression `target` (of kind `kind`) in `source` secret-sourced?
    fn sourced_in(source: &str, kind: &str, target: &str) -> bool {
        passes(is_secret_sourced, source, kind, target, &[])
    }

    /// Is the argument of `log(...)`, after `body` in a function, secret-sourced?
    fn log_arg_sourced(body: &str, arg: &str) -> bool {
        let snippet = Snippet::new(&format!(
            "def f(self, entry, data):\n{body}\n    log({arg})\n"
        ));
        let argument = snippet.argument(&format!("log({arg})"), 0);
        is_secret_sourced(&snippet.ctx(), argument, &[])
    }

    #[test]
    fn names_attributes_keys_and_gets_are_sourced() {
        for arg in [
            "password",
            "self._api_key",
            "entry.data[CONF_PASSWORD]",
            "data['token']",
            "data.get('access_token')",
            "entry.data.get(CONF_API_KEY)",
            "self.token.access_token",
        ] {
            assert!(log_arg_sourced("    pass", arg), "{arg}");
        }
    }

    #[test]
    fn locals_assigned_from_secrets_are_sourced() {
        let body =
            "    key = entry.data[CONF_API_KEY]\n    url = f\"https://x/?k={key}\"\n    copy = url";
        for arg in ["key", "url", "copy"] {
            assert!(log_arg_sourced(body, arg), "{arg}");
        }
        assert!(log_arg_sourced(
            "    auth = 'Bearer ' + self._token",
            "auth"
        ));
        assert!(log_arg_sourced("    pass", "str(password)"));
        assert!(log_arg_sourced("    pass", "repr(self._token)"));
        assert!(log_arg_sourced("    pass", "f\"{password}\""));
        assert!(log_arg_sourced("    pass", "'{}'.format(token)"));
        assert!(log_arg_sourced("    pass", "token.encode()"));
        assert!(log_arg_sourced("    pass", "self._get_token()"));
        assert!(log_arg_sourced("    pass", "url.with_password(password)"));
    }

    #[test]
    fn derived_non_secret_values_are_not_sourced() {
        for arg in [
            "token[:4]",
            "len(password)",
            "bool(token)",
            "mask_token(token)",
            "redact(password)",
            "hash_password(password)",
            "async_redact_data(entry.data, TO_REDACT)",
            "CONF_PASSWORD",
            "username",
            "entry.data[CONF_HOST]",
            "self._token_type",
            "token is None",
            "host",
            "f\"{host}\"",
            "entry.data",
        ] {
            assert!(!log_arg_sourced("    pass", arg), "{arg}");
        }
    }

    #[test]
    fn taint_stays_inside_its_function() {
        let source = "def a(entry):\n    x = entry.data[CONF_PASSWORD]\n\ndef b(x):\n    log(x)\n";
        let snippet = Snippet::new(source);
        let argument = snippet.argument("log(x)", 0);
        assert!(!is_secret_sourced(&snippet.ctx(), argument, &[]));
        assert!(sourced_in(source, "subscript", "entry.data[CONF_PASSWORD]"));
    }

    #[test]
    fn a_local_is_sourced_only_after_the_secret_reaches_it() {
        let body = "    log(url)\n    url = url.with_password(password)";
        assert!(!log_arg_sourced(body, "url"));
        assert!(log_arg_sourced("    url = f'{token}'\n    x = 1", "url"));
    }

    #[test]
    fn hidden_and_masked_values_are_not_sourced() {
        for arg in [
            "self._api.hide_password(url)",
            "sanitize_token(token)",
            "self._api.api_key_masked",
            "device.token_needed",
            "url.with_password('xxxxxxxx')",
        ] {
            assert!(!log_arg_sourced("    pass", arg), "{arg}");
        }
    }

    #[test]
    fn ambiguous_words_take_their_meaning_from_the_file() {
        let source = "def f(self):\n    log(self._pin)\n";
        assert!(sourced_in(source, "attribute", "self._pin"));
        let gpio = "PIN_MODE = 'OUTPUT'\ndef f(self):\n    log(self._pin)\n";
        assert!(!sourced_in(gpio, "attribute", "self._pin"));
        let stream = "def f(self, session_id):\n    start_stream(session_id)\n";
        assert!(!sourced_in(stream, "identifier", "session_id"));
        let login = "def f(self, password):\n    start_stream(password)\n";
        assert!(sourced_in(login, "identifier", "password"));
        // A session id is a login's in a file that logs in, and a context word
        // counts only where a word starts (`media` is not in `immediately`).
        let logged_in =
            "def f(self, session_id):\n    self.login()  # immediately\n    send(session_id)\n";
        assert!(sourced_in(logged_in, "identifier", "session_id"));
        let measuring = "def f(self, session_id):\n    send(session_id)\n";
        assert!(!sourced_in(measuring, "identifier", "session_id"));
        let media = "def f(self, session_id):\n    self.login()\n    play_media(session_id)\n";
        assert!(!sourced_in(media, "identifier", "session_id"));
    }

    fn hardcoded(source: &str) -> bool {
        any_passes(is_hardcoded_secret, source, "string", "")
    }

    #[test]
    fn literals_bound_to_secret_names_are_hardcoded_secrets() {
        for source in [
            "API_KEY = 'sk_live_abc123xyz'",
            "password = 'hunter22'",
            "client(api_key='a8f5f167f44f4964e6c998dee827110c')",
            "{'token': 'Zm9vYmFyYmF6cXV4'}",
            "def f(secret='9f8e7d6c5b4a'): pass",
            "x = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'",
            "NOT_SO_PRIVATE_KEY = 'PHES7U2RADREWAFEBUSTUBAWRASWUTUS'",
            "KEY = '-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA1b2c3d4'",
            "DEFAULT_PASSWORD = 'dreambox'",
            "PASSWORD = 'SUPERSECRET'",
            "password = 'letMeIn42'",
            "CLOUD = {'name': 'vendor', 'api_key': 'a8f5f167f44f4964e6c9'}",
            "CONF_DEFAULT_CLIENT_SECRET = '2mgjqpikbfuok8g4s44oo4gsw0ks44okk4kc4kkkko0c8soc8s'",
        ] {
            assert!(hardcoded(source), "{source}");
        }
    }

    #[test]
    fn adjacent_literals_are_read_as_one() {
        let split =
            |source: &str| any_passes(is_hardcoded_secret, source, "concatenated_string", "");
        assert!(split(
            "BEARER = (\n    'eyJhbGciOiJIUzI1NiJ9.'\n    'eyJzdWIiOiJnYXRld2F5In0.'\n    'c2lnbmF0dXJl'\n)\n"
        ));
        assert!(!split(
            "MESSAGE = ('Cannot log in: ' 'check the password')\n"
        ));
        // Neither half alone is a token.
        assert!(!hardcoded(
            "X = ('eyJhbGciOiJIUzI1NiJ9.' 'eyJzdWIiOiJnYXRld2F5In0.')\n"
        ));
    }

    #[test]
    fn public_search_keys_of_hosted_search_are_not_hardcoded_secrets() {
        let key = "SEARCH_API_KEY = '7a3b39eba83ef97796c682e6a749be71'\n";
        assert!(hardcoded(key));
        for service in [
            "URL = 'https://x-dsn.algolia.net/1/indexes/*/queries'\n",
            "HOST = 'https://search.example.org'  # Meilisearch\n",
        ] {
            assert!(!hardcoded(&format!("{service}{key}")), "{service}");
        }
        // A credential format is reported wherever it is.
        let token = "TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'\n";
        assert!(hardcoded(&format!(
            "URL = 'https://x.algolia.net'\n{token}"
        )));
    }

    #[test]
    fn public_client_keys_of_firebase_and_gigya_are_not_hardcoded_secrets() {
        let firebase = "API_KEY = 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'\n";
        assert!(hardcoded(firebase), "a Google API key anywhere else");
        assert!(!hardcoded(&format!(
            "{firebase}URL = 'https://identitytoolkit.googleapis.com/v1/accounts:signUp'\n"
        )));
        // The Cloud Messaging registration of a vendor's app.
        assert!(!hardcoded(&format!(
            "# Firebase project of the vendor's Android app\n{firebase}APP_ID = '1:289722593072:android:3cfcf5bc'\n"
        )));
        let gigya = "API_KEY = '3_abcdefghijklmnopqrstuvwxyz0123'\n";
        let gigya_eu = "GIGYA_API_KEY = '4_DRIMLu7jk9bkKwpRRoQOuw'\n";
        assert!(!hardcoded(gigya_eu), "a Gigya key of another data center");
        assert!(
            hardcoded("API_KEY = '4_DRIMLu7jk9bkKwpRRoQOuw'\n"),
            "no Gigya in the file"
        );
        assert!(!hardcoded(
            "# Contentstack delivery API\nCS_TOKEN = 'csf710b7815abf44748585d287'\n"
        ));
        assert!(hardcoded(gigya));
        assert!(!hardcoded(&format!(
            "{gigya}URL = 'https://accounts.eu1.gigya.com/accounts.login'\n"
        )));
    }

    #[test]
    fn key_names_and_placeholders_are_not_hardcoded_secrets() {
        for source in [
            "AUTH_KEY = 'Authorization'",
            "COOKIE_PHPSESSID = 'PHPSESSID'",
            "LABELS = {'password': 'Passwort'}",
            "CONF_PASSWORD = 'password'",
            "CONF_CLIENT_SECRET = 'client_secret_2'",
            "api_key = 'api_key'",
            "token = ''",
            "token = '<token>'",
            "password = 'xxx'",
            "password = '***'",
            "vol.Required(CONF_PASSWORD)",
            "errors = {'password': 'invalid_auth'}",
            "token_type = 'Bearer123'",
            "data = {'accessToken': 'accessToken'}",
            "password = 'Password must be set'",
            "url = f'https://x/{token}'",
            "pin = '1234'",
            "OAUTH2_TOKEN = 'https://auth.vendor.com/oauth2/token'",
            "data = {'token_endpoint': '/auth/token'}",
            "DEFAULT_TOKEN = '00000000000000000000000000000001'",
            "X_AUTH_TOKEN = 'X-Supervisor-Token'",
            "ERR_PIN_INCORRECT = 'pinIncorrect'",
            "DATA_SIGN_SECRET = 'http.auth.sign_secret'",
            "data['secret'] = 'hidden'",
            "DUMMY_SECRET = 'FPPTH34D4E3MI2HG'",
            "SensorEntityDescription(key='a', api_key='pactogrid')",
            "Description(api_key='eBatChargeToday')",
            "SENSORS = {'odometer': {'icon': 'mdi:counter', 'api_key': 'odometer'}}",
            "client(api_key='powerToday')",
            "PIN_MODE_ANALOG = 'ANALOG'",
            "STORE = {'token': 'VENDOR_TOKEN_STORE'}",
            "header = '-----BEGIN PRIVATE KEY-----'",
            "CMD_GET_KEY = 'jdev/sys/getkey2'",
        ] {
            assert!(!hardcoded(source), "{source}");
        }
    }
}
