//! The shared secret vocabulary: which names are *secret-like*.
//!
//! One definition, read from `rules/secrets.toml` and extended by the user's
//! `secret-words`, used by every rule that asks whether a name holds a secret.

use aho_corasick::AhoCorasick;
use serde::Deserialize;

const VOCABULARY_FILE: &str = include_str!("../../rules/secrets.toml");

/// Decides whether an identifier, attribute or key names a secret.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// Each entry split into lowercase words (`api_key` is `["api", "key"]`).
    words: Vec<Vec<String>>,
    /// Each entry with its separators removed (`apikey`).
    joined: Vec<String>,
    /// Finds any of `joined` in a name's letters and digits.
    joined_finder: AhoCorasick,
    metadata_prefixes: Vec<Vec<String>>,
    metadata_suffixes: Vec<Vec<String>>,
    /// Words that, right after a secret word, name what identifies or owns the
    /// secret (`key_id`, `token_user`): metadata there, not elsewhere
    /// (`webhook_id` is a secret).
    identifying_suffixes: Vec<Vec<String>>,
    lookalikes: Vec<Vec<String>>,
    /// An ambiguous entry (split) → the words of a file that give it its other meaning.
    ambiguous: Vec<(Vec<String>, Vec<String>)>,
    /// An entry (split) that is a secret only in a file using one of these words.
    only_where: Vec<(Vec<String>, Vec<String>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct VocabularyFile {
    words: Vec<String>,
    metadata_prefixes: Vec<String>,
    metadata_suffixes: Vec<String>,
    #[serde(default)]
    identifying_suffixes: Vec<String>,
    #[serde(default)]
    lookalikes: Vec<String>,
    #[serde(default)]
    ambiguous: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    only_where: std::collections::BTreeMap<String, Vec<String>>,
}

/// A table of entries and the words of a file that decide them, the entries
/// split into words and the words in lowercase.
fn context_table(
    table: &std::collections::BTreeMap<String, Vec<String>>,
) -> Vec<(Vec<String>, Vec<String>)> {
    table
        .iter()
        .map(|(word, context)| {
            let context = context.iter().map(|c| c.to_lowercase()).collect();
            (split_words(word), context)
        })
        .collect()
}

impl Default for Vocabulary {
    fn default() -> Self {
        Self::with_extra_words(&[])
    }
}

impl Vocabulary {
    /// The built-in vocabulary plus the user's extra words.
    pub fn with_extra_words(extra: &[String]) -> Self {
        let file: VocabularyFile =
            toml::from_str(VOCABULARY_FILE).expect("rules/secrets.toml is valid (tested)");
        let entries: Vec<&String> = file.words.iter().chain(extra).collect();
        let joined: Vec<String> = entries.iter().map(|w| split_words(w).concat()).collect();
        Self {
            words: entries.iter().map(|w| split_words(w)).collect(),
            joined_finder: AhoCorasick::new(&joined).expect("a few dozen short words"),
            joined,
            metadata_prefixes: file
                .metadata_prefixes
                .iter()
                .map(|w| split_words(w))
                .collect(),
            metadata_suffixes: file
                .metadata_suffixes
                .iter()
                .map(|w| split_words(w))
                .collect(),
            identifying_suffixes: file
                .identifying_suffixes
                .iter()
                .map(|w| split_words(w))
                .collect(),
            lookalikes: file.lookalikes.iter().map(|w| split_words(w)).collect(),
            ambiguous: context_table(&file.ambiguous),
            only_where: context_table(&file.only_where),
        }
    }

    /// Is `name` (an identifier, attribute or dictionary key) secret-like? Not
    /// when its only secret words are ambiguous and the name itself spells
    /// their harmless meaning (`sdes_pin_h264`: a video codec pinned).
    pub fn is_secret_like(&self, name: &str) -> bool {
        if self.matched_entries(name).is_empty() {
            return false;
        }
        self.ambiguity(name).is_none_or(|context| {
            let lower = name.to_lowercase();
            !context.iter().any(|word| lower.contains(word))
        })
    }

    /// When `name` is secret-like only through ambiguous words (`pin`,
    /// `session_id`), the words of a file that give it its harmless meaning.
    pub fn ambiguity(&self, name: &str) -> Option<Vec<&str>> {
        self.context_words(&self.ambiguous, name)
    }

    /// When `name` is secret-like only through entries that are secrets only in
    /// some files (`session_id`: a login's session, not a measuring or a
    /// scraping session), the words of a file that make them one.
    pub fn requirement(&self, name: &str) -> Option<Vec<&str>> {
        self.context_words(&self.only_where, name)
    }

    /// The words `table` lists for every entry `name` holds; `None` when the
    /// name holds no entry, or one the table does not list.
    fn context_words<'a>(
        &'a self,
        table: &'a [(Vec<String>, Vec<String>)],
        name: &str,
    ) -> Option<Vec<&'a str>> {
        let matched = self.matched_entries(name);
        if matched.is_empty() {
            return None;
        }
        let mut context = Vec::new();
        for entry in matched {
            let (_, words) = table.iter().find(|(word, _)| *word == *entry)?;
            context.extend(words.iter().map(String::as_str));
        }
        Some(context)
    }

    /// The vocabulary entries `name` contains (none when it is metadata or a lookalike).
    fn matched_entries(&self, name: &str) -> Vec<&Vec<String>> {
        // An entry a name holds is in the name's letters and digits, lower-cased
        // (its words run together): most names hold none, and are answered
        // without being split.
        let letters: String = name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if !self.joined_finder.is_match(&letters) {
            return Vec::new();
        }
        let words = split_words(name);
        if words.is_empty()
            || self.is_metadata(&words)
            || self.lookalikes.iter().any(|l| contains_run(&words, l))
        {
            return Vec::new();
        }
        let joined = words.concat();
        self.words
            .iter()
            .zip(&self.joined)
            .filter(|(entry, entry_joined)| **entry_joined == joined || contains_run(&words, entry))
            .map(|(entry, _)| entry)
            .collect()
    }

    fn is_metadata(&self, words: &[String]) -> bool {
        self.metadata_prefixes
            .iter()
            .any(|p| words.starts_with(p) && words.len() > p.len())
            || self
                .metadata_suffixes
                .iter()
                .any(|s| words.ends_with(s) && words.len() > s.len())
            || self.metadata_follows_secret(words)
            || self.metadata_precedes_secret(words)
    }

    /// `reasoning_max_tokens`, `owner_use_token`: a metadata prefix right
    /// before a secret word, inside the name.
    fn metadata_precedes_secret(&self, words: &[String]) -> bool {
        self.words.iter().any(|entry| {
            (1..=words.len().saturating_sub(entry.len())).any(|start| {
                words[start..].starts_with(entry)
                    && self.metadata_prefixes.iter().any(|prefix| {
                        start >= prefix.len() && words[start - prefix.len()..start] == prefix[..]
                    })
            })
        })
    }

    /// `TOKEN_TYPE_BEARER`, `lanip_key_id`: a metadata or identifying word
    /// right after a secret word.
    fn metadata_follows_secret(&self, words: &[String]) -> bool {
        self.words.iter().any(|entry| {
            (0..words.len().saturating_sub(entry.len())).any(|start| {
                words[start..].starts_with(entry)
                    && self
                        .metadata_suffixes
                        .iter()
                        .chain(&self.identifying_suffixes)
                        .any(|suffix| words[start + entry.len()..].starts_with(suffix))
            })
        })
    }
}

/// Does `entry` occur as consecutive words of `words`?
fn contains_run(words: &[String], entry: &[String]) -> bool {
    !entry.is_empty() && words.windows(entry.len()).any(|window| window == entry)
}

/// Splits a name into lowercase words at `_`, `-`, `.`, spaces and camelCase humps:
/// `self._apiKey` is `["self", "api", "key"]`, `HTTPToken` is `["http", "token"]`.
pub fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // `apiKey` splits before K; `HTTPToken` splits before the T of Token.
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str) -> bool {
        Vocabulary::default().is_secret_like(name)
    }

    #[test]
    fn splits_snake_kebab_and_camel_case() {
        assert_eq!(split_words("self._api_key"), ["self", "api", "key"]);
        assert_eq!(split_words("apiKey"), ["api", "key"]);
        assert_eq!(split_words("api-key"), ["api", "key"]);
        assert_eq!(split_words("HTTPToken"), ["http", "token"]);
        assert_eq!(split_words("CONF_PASSWORD"), ["conf", "password"]);
        assert_eq!(split_words("__"), Vec::<String>::new());
    }

    #[test]
    fn every_listed_word_is_secret_like() {
        for name in [
            "password",
            "passwd",
            "pwd",
            "passphrase",
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "apiKey",
            "APIKEY",
            "private_key",
            "client_secret",
            "credentials",
            "creds",
            "pin",
            "passcode",
            "auth_key",
            "bearer",
            "cookie",
            "session_id",
        ] {
            assert!(secret(name), "{name} should be secret-like");
        }
    }

    #[test]
    fn words_inside_longer_names_count() {
        for name in [
            "CONF_PASSWORD",
            "self._password",
            "access_token",
            "refresh_token",
            "_api_key",
            "user_pin",
            "mqtt_passwd",
            "oauth_client_secret",
            "session_cookie",
            "x_auth_key",
            "accessToken",
            "PRIVATE_KEY",
            "alarm_passcode",
        ] {
            assert!(secret(name), "{name} should be secret-like");
        }
    }

    #[test]
    fn metadata_about_a_secret_is_not_secret() {
        for name in [
            "token_type",
            "token_expires",
            "expires_token",
            "token_expiry",
            "token_expiration",
            "token_expires_at",
            "password_url",
            "token_uri",
            "private_key_path",
            "secret_file",
            "token_len",
            "password_length",
            "has_token",
            "is_password",
            "use_token",
            "password_required",
            "pin_enabled",
            "password_hint",
            "secret_name",
            "masked_password",
            "api_key_masked",
            "token_needed",
            "BASE_TOKEN_FILENAME",
            "TOKEN_TYPE_NORMAL",
            "OAUTH2_TOKEN_ENDPOINT",
            "InvalidCredentials",
            "INVALID_TOKEN",
            "require_pin_code",
            "CONF_OPENROUTER_REASONING_MAX_TOKENS",
            "owner_use_token",
        ] {
            assert!(!secret(name), "{name} should not be secret-like");
        }
        // A prefix word after the secret word says nothing of it.
        assert!(secret("password_max"));
        assert!(secret("user_password"));
        // What identifies a secret, or whom it belongs to, right after it.
        for name in [
            "lanip_key_id",
            "access_key_id",
            "token_user",
            "api_key_owner",
        ] {
            assert!(!secret(name), "{name} should not be secret-like");
        }
        // Not elsewhere: these are secrets of their own.
        for name in ["webhook_id", "session_id", "user_token", "id_token"] {
            assert!(secret(name), "{name} should be secret-like");
        }
    }

    #[test]
    fn lookalike_words_do_not_match() {
        for name in [
            "username",
            "host",
            "spinner",
            "pinned",
            "pins_count",
            "tokenizer",
            "passage",
            "cookiecutter",
            "secretary",
            "type",
            "url",
            "",
        ] {
            assert!(!secret(name), "{name} should not be secret-like");
        }
    }

    #[test]
    fn lookalike_runs_are_not_secrets() {
        for name in [
            "ATTR_PIN_PAD_LOW_BATTERY",
            "PIN_MODE_ANALOG",
            "pin_number",
            "__RequestVerificationToken",
            "access_token_date_updated",
        ] {
            assert!(!secret(name), "{name} should not be secret-like");
        }
        assert!(secret("keypad_pin"));
        // The name spells the harmless meaning itself.
        assert!(!secret("CONF_SDES_PIN_H264"));
        assert!(!secret("gpio_pin"));
    }

    #[test]
    fn ambiguous_words_say_what_gives_them_another_meaning() {
        let vocabulary = Vocabulary::default();
        assert!(vocabulary.ambiguity("self._pin").unwrap().contains(&"gpio"));
        assert!(vocabulary.ambiguity("pin").unwrap().contains(&"blynk"));
        assert!(
            vocabulary
                .ambiguity("tokens_in")
                .unwrap()
                .contains(&"max_tokens")
        );
        assert!(
            vocabulary
                .ambiguity("session_id")
                .unwrap()
                .contains(&"stream")
        );
        assert!(vocabulary.ambiguity("password").is_none());
        assert!(
            vocabulary.ambiguity("pin_password").is_none(),
            "password is never ambiguous"
        );
        assert!(vocabulary.ambiguity("host").is_none());
    }

    #[test]
    fn every_ambiguous_word_and_lookalike_is_about_a_listed_word() {
        let vocabulary = Vocabulary::default();
        for (word, context) in vocabulary.ambiguous.iter().chain(&vocabulary.only_where) {
            assert!(
                vocabulary.words.contains(word),
                "{word:?} is not a secret word"
            );
            assert!(!context.is_empty(), "{word:?} has no context words");
        }
        for lookalike in &vocabulary.lookalikes {
            assert!(
                vocabulary.words.iter().any(|w| contains_run(lookalike, w)),
                "{lookalike:?} contains no secret word"
            );
        }
    }

    #[test]
    fn the_user_can_add_words() {
        let vocabulary = Vocabulary::with_extra_words(&["otp_seed".to_string()]);
        assert!(vocabulary.is_secret_like("self._otp_seed"));
        assert!(vocabulary.is_secret_like("OTPSeed"));
        assert!(!Vocabulary::default().is_secret_like("otp_seed"));
    }
}
