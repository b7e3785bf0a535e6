//! Reauthentication: `ConfigEntryAuthFailed` starts a reauth flow, which fails
//! unless the integration's config flow defines `async_step_reauth`.

use tree_sitter::Node;

use super::FileContext;

/// Check `integration-lacks-reauth`: the integration (its files gathered by the
/// scanner; a file scanned on its own stands for itself) defines no
/// `async_step_reauth`.
pub fn integration_lacks_reauth<'t>(ctx: &FileContext<'t>, _: Node<'t>, _: &[&str]) -> bool {
    !ctx.facts().has_reauth
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{checks::test_support::Snippet, model::integration::IntegrationFacts};

    #[test]
    fn the_file_alone_or_the_integration_decides() {
        let without = Snippet::new("raise ConfigEntryAuthFailed\n");
        assert!(integration_lacks_reauth(
            &without.ctx(),
            without.root(),
            &[]
        ));

        let with = Snippet::new(
            "class F:\n    async def async_step_reauth(self, data):\n        pass\nraise ConfigEntryAuthFailed\n",
        );
        assert!(!integration_lacks_reauth(&with.ctx(), with.root(), &[]));

        let facts = IntegrationFacts {
            has_reauth: true,
            ..IntegrationFacts::default()
        };
        let ctx = without.ctx().with_integration(Some(Arc::new(facts)));
        assert!(!integration_lacks_reauth(&ctx, without.root(), &[]));
    }
}
