//! Authentication failures: is a statement handling one?

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::FileContext;
use crate::model::{
    integration::{
        auth_error_raised, auth_raises, catches_everything, caught_exceptions,
        enclosing_function_name,
    },
    names::{is_auth_failure_name, secret_like},
    syntax::NodeExt,
};
use crate::rules::vocabulary::split_words;

/// A condition that tests for HTTP 401 or 403.
static AUTH_STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(401|403)\b|UNAUTHORIZED|FORBIDDEN").unwrap());

/// What in a handler shows it already asks the user to sign in again (directly, or
/// through a helper named for it: `await bridge.handle_unauthorized_error()`).
static STARTS_REAUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ConfigEntryAuthFailed|async_start_reauth|SOURCE_REAUTH|async_step_reauth|handle_unauthorized|create_config_flow").unwrap()
});

/// Check `auth-failure-handler`: the statement runs because the credentials were
/// refused: in an `except` clause catching an authentication-like exception, or in
/// the body of an `if`/`elif` testing for a 401/403 status, in the same function;
/// and that clause or body does not start reauthentication itself.
/// A `return` counts only in `async_setup_entry` (returning False from setup).
pub fn handles_auth_failure<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    if node.kind_name() == "return_statement" && !in_setup_entry(ctx, node) {
        return false;
    }
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "except_clause" => {
                return ((catches_auth_failure(ctx, parent)
                    && !(raises_update_failed(ctx, node) && sibling_starts_reauth(ctx, parent))
                    && !calls_reauth_helper(ctx, parent))
                    || (catches_everything(&caught_exceptions(ctx, parent))
                        && !after_auth_clause(ctx, parent)
                        && reauth_unreachable(ctx, node)))
                    && !STARTS_REAUTH.is_match(ctx.text(parent));
            }
            "if_statement" | "elif_clause"
                if parent
                    .field("consequence")
                    .is_some_and(|body| body.id() == current.id())
                    && parent.field("condition").is_some_and(|c| {
                        AUTH_STATUS.is_match(ctx.text(c)) || tests_failed_login(ctx, c)
                    }) =>
            {
                return !STARTS_REAUTH.is_match(ctx.text(current))
                    && !calls_reauth_helper(ctx, current)
                    && !drops_stored_token(ctx, current);
            }
            _ => {}
        }
        current = parent;
    }
    false
}

/// Check `ignored-in-setup`: the block is in `async_setup_entry` and every
/// statement of it is a logger call (or `pass`): what it handles is written
/// down and setup goes on as if nothing had happened.
pub fn ignored_in_setup<'t>(ctx: &FileContext<'t>, block: Node<'t>, _: &[&str]) -> bool {
    if !in_setup_entry(ctx, block) {
        return false;
    }
    let statements = block.parts();
    !statements.is_empty()
        && statements
            .iter()
            .all(|statement| match statement.kind_name() {
                "pass_statement" => true,
                "expression_statement" => statement.named_child(0).is_some_and(|call| {
                    call.kind_name() == "call" && crate::model::names::is_logger_call(ctx, call)
                }),
                _ => false,
            })
}

/// Check `auth-error-without-reauth`: the `raise` statement raises an
/// authentication error (`raise AuthException(...)`, `raise Exception("Invalid
/// credentials")`) outside a flow, in an integration that has a config flow
/// but never starts reauthentication: wherever the error ends (a coordinator's
/// failed update, a setup retried), the user is never asked to sign in again.
/// Not in a function only a flow calls (`validate_input` raising `InvalidAuth`
/// for the form's error), nor for an exception a handler elsewhere turns into
/// a retry (`except LoginError: raise ConfigEntryNotReady`, a coordinator's
/// catch-all raising `UpdateFailed`): that handler is reported instead. One
/// finding per exception and file, at its first raise: the fix is where the
/// exception is caught, whichever raise it comes from. Not either where
/// nothing can be asked again (the flows store no secret), where the
/// integration asks the user another way (a repair issue, a persistent
/// notification), in a constructor (a check of its arguments), or in an
/// `except` clause catching no authentication failure (a transport error
/// given an authentication-like name).
pub fn raises_auth_error_without_reauth<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    _: &[&str],
) -> bool {
    let Some(facts) = ctx.integration.as_ref() else {
        return false;
    };
    let raised_name = |statement: Node<'t>| {
        let class = statement
            .named_child(0)
            .map(|raised| raised.field("function").unwrap_or(raised))
            .map_or("", |class| ctx.text(class));
        class.rsplit('.').next().unwrap_or(class)
    };
    let reportable = |statement: Node<'t>| {
        let function = enclosing_function_name(ctx, statement);
        function != "__init__"
            && facts.auth_raisers_after_setup.contains(&function)
            && !facts
                .auth_errors_mishandled
                .contains(raised_name(statement))
            && !wraps_other_failure(ctx, statement)
            && !caught_where_raised(ctx, statement, raised_name(statement))
            && auth_error_raised(ctx, statement)
    };
    let class = raised_name(node);
    facts.flow_found
        && !facts.starts_reauth
        && !facts.asks_user_otherwise
        && !facts.auth_errors_mishandled.contains("Exception")
        && facts.may_store_secret(ctx.vocabulary)
        && ctx.flow_kinds().is_empty()
        && reportable(node)
        && !auth_raises(ctx).into_iter().any(|earlier| {
            earlier.start_byte() < node.start_byte()
                && raised_name(earlier) == class
                && reportable(earlier)
        })
}

/// Is the statement in the body of a `try` (of its function) whose handler
/// catches what it raises (`class`, or everything) and raises another error
/// in its place? Then the error does not leave the function as it was raised
/// (what replaces it is judged where it is raised). A handler that returns
/// instead is where the failure ends, and is no such exemption.
fn caught_where_raised<'t>(ctx: &FileContext<'t>, node: Node<'t>, class: &str) -> bool {
    let mut current = node;
    for ancestor in ctx.ancestors(node) {
        if matches!(ancestor.kind_name(), "function_definition" | "lambda") {
            return false;
        }
        if ancestor.kind_name() == "try_statement"
            && ancestor
                .field("body")
                .is_some_and(|body| body.id() == current.id())
        {
            let mut cursor = ancestor.walk();
            let catches = ancestor.named_children(&mut cursor).any(|clause| {
                let caught = caught_exceptions(ctx, clause);
                clause.kind_name() == "except_clause"
                    && (catches_everything(&caught) || caught.contains(&class))
                    && raises_in(clause)
            });
            if catches {
                return true;
            }
        }
        current = ancestor;
    }
    false
}

/// Does a `raise` statement run in `node` (not in a function it defines)?
fn raises_in(node: Node) -> bool {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node.kind_name() {
            "raise_statement" => return true,
            "function_definition" | "lambda" | "class_definition" => continue,
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    false
}

/// Is the statement in an `except` clause (of its function) that catches no
/// authentication failure? `except RequestException as e: raise LoginError
/// from e` names a transport error after a login.
fn wraps_other_failure<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    ctx.ancestors(node)
        .take_while(|a| !matches!(a.kind_name(), "function_definition" | "lambda"))
        .find(|a| a.kind_name() == "except_clause")
        .is_some_and(|clause| !catches_auth_failure(ctx, clause))
}

/// `if not await api.authenticate():`, `if not client.login():`: the body runs
/// because the login was refused. Not where the integration raises
/// `ConfigEntryAuthFailed` somewhere: its login helper may raise it for refused
/// credentials and answer `False` for the rest (core's `verisure`).
fn tests_failed_login<'t>(ctx: &FileContext<'t>, condition: Node<'t>) -> bool {
    if ctx
        .integration
        .as_ref()
        .is_some_and(|facts| facts.starts_reauth)
    {
        return false;
    }
    let Some(mut tested) = condition
        .field("argument")
        .filter(|_| condition.kind_name() == "not_operator")
    else {
        return false;
    };
    while matches!(tested.kind_name(), "await" | "parenthesized_expression") {
        let Some(inner) = tested.named_child(0) else {
            return false;
        };
        tested = inner;
    }
    tested.kind_name() == "call"
        && split_words(crate::model::config_flow::callee_name(ctx, tested))
            .iter()
            .any(|w| matches!(w.as_str(), "login" | "authenticate" | "auth" | "authorize"))
}

/// Does the body drop a stored token (`self.token = None`) before it fails?
/// A 401 on a data request then means an expired token: the next update logs
/// in again, and a refused login is handled (or not) where it is made.
fn drops_stored_token<'t>(ctx: &FileContext<'t>, body: Node<'t>) -> bool {
    let mut cursor = body.walk();
    body.named_children(&mut cursor).any(|statement| {
        statement
            .named_child(0)
            .filter(|a| {
                statement.kind_name() == "expression_statement" && a.kind_name() == "assignment"
            })
            .is_some_and(|assignment| {
                let cleared = assignment.field("right").is_some_and(|r| {
                    r.kind_name() == "none"
                        || crate::model::names::string_value(r, ctx.source)
                            .is_some_and(|v| v.is_empty())
                });
                let names_secret = assignment.field("left").is_some_and(|left| {
                    let name = match left.kind_name() {
                        "attribute" => left.field("attribute").map_or("", |a| ctx.text(a)),
                        "identifier" => ctx.text(left),
                        _ => "",
                    };
                    secret_like(ctx, name)
                });
                cleared && names_secret
            })
    })
}

fn in_setup_entry<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if matches!(parent.kind_name(), "function_definition" | "lambda") {
            return parent
                .field("name")
                .is_some_and(|n| ctx.text(n) == "async_setup_entry");
        }
        current = parent;
    }
    false
}

/// Does the integration define a reauth step that nothing can start where
/// `raised` is (no `ConfigEntryAuthFailed` raised, no `async_start_reauth`)?
/// Then an error handler that catches everything is where an expired password
/// is lost. An `UpdateFailed` outside setup also counts when only
/// `async_setup_entry` starts the step: a password changed while the entry runs
/// fails every update until a restart; and, with no reauth step at all, when
/// the integration's own client raises authentication errors that nothing but
/// such a catch-all turns into anything.
fn reauth_unreachable<'t>(ctx: &FileContext<'t>, raised: Node<'t>) -> bool {
    let Some(facts) = ctx.integration.as_ref() else {
        return false;
    };
    if facts.has_reauth && !facts.starts_reauth {
        return true;
    }
    (facts.has_reauth || facts.raises_auth_error)
        && !facts.starts_reauth_after_setup
        && !in_setup_entry(ctx, raised)
        && raises_update_failed(ctx, raised)
}

/// Does the statement raise `UpdateFailed` (a coordinator's retry)?
fn raises_update_failed<'t>(ctx: &FileContext<'t>, statement: Node<'t>) -> bool {
    ctx.text(statement).contains("UpdateFailed")
}

/// Does another clause of the same `try` start reauthentication (`except
/// LoginError: raise ConfigEntryAuthFailed`)? Then an update that raises
/// `UpdateFailed` for another authentication error tells refused credentials
/// from the failures it retries (an expired session token).
fn sibling_starts_reauth<'t>(ctx: &FileContext<'t>, clause: Node<'t>) -> bool {
    let Some(statement) = ctx.parent(clause) else {
        return false;
    };
    let mut cursor = statement.walk();
    statement.named_children(&mut cursor).any(|other| {
        other.kind_name() == "except_clause"
            && other.id() != clause.id()
            && STARTS_REAUTH.is_match(ctx.text(other))
    })
}

/// Does the clause call a function of this file that starts reauthentication
/// (`await self._try_renew_token()`, which raises `ConfigEntryAuthFailed` when
/// the renewal is refused)? Then what is raised after it is a retry.
fn calls_reauth_helper<'t>(ctx: &FileContext<'t>, clause: Node<'t>) -> bool {
    let mut stack = vec![clause];
    while let Some(node) = stack.pop() {
        if node.kind_name() == "call"
            && let Some(function) = node.field("function")
        {
            let name = match function.kind_name() {
                "identifier" => Some(function),
                "attribute" => function.field("attribute"),
                _ => None,
            };
            if name.is_some_and(|name| {
                ctx.functions_named(ctx.text(name))
                    .iter()
                    .any(|helper| STARTS_REAUTH.is_match(ctx.text(*helper)))
            }) {
                return true;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// Does an earlier clause of the same `try` catch authentication failures? Then
/// they never reach this catch-all (that clause is where they end).
fn after_auth_clause<'t>(ctx: &FileContext<'t>, clause: Node<'t>) -> bool {
    std::iter::successors(clause.prev_named_sibling(), |c| c.prev_named_sibling())
        .any(|earlier| earlier.kind_name() == "except_clause" && catches_auth_failure(ctx, earlier))
}

/// Does the `except` clause catch an authentication-like exception (alone or in a tuple)?
fn catches_auth_failure<'t>(ctx: &FileContext<'t>, clause: Node<'t>) -> bool {
    caught_exceptions(ctx, clause)
        .into_iter()
        .any(is_auth_failure_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::passes;

    fn handles(source: &str, statement: &str) -> bool {
        let kind = if statement.starts_with("return") {
            "return_statement"
        } else {
            "raise_statement"
        };
        passes(handles_auth_failure, source, kind, statement, &[])
    }

    #[test]
    fn auth_exceptions_and_status_tests_are_auth_failures() {
        let source = "async def async_setup_entry(self):\n    try:\n        pass\n    except InvalidAuth as err:\n        raise UpdateFailed(1) from err\n\
            \n    try:\n        pass\n    except (CannotConnect, api.UnauthorizedError):\n        raise ConfigEntryNotReady(2)\n\
            \n    if resp.status == 401:\n        raise UpdateFailed(3)\n    elif resp.status == HTTPStatus.FORBIDDEN:\n        raise UpdateFailed(4)\n\
            \n    try:\n        pass\n    except TokenExpiredError:\n        return False\n";
        for statement in [
            "raise UpdateFailed(1) from err",
            "raise ConfigEntryNotReady(2)",
            "raise UpdateFailed(3)",
            "raise UpdateFailed(4)",
            "return False",
        ] {
            assert!(handles(source, statement), "{statement}");
        }
    }

    #[test]
    fn a_comment_on_the_clause_does_not_hide_a_catch_all() {
        let snippet = crate::model::test_support::Snippet::new(
            "try:\n    pass\nexcept Exception as err:  # pylint: disable=broad-except\n    raise ApiError from err\n",
        );
        let ctx = snippet.ctx();
        let mut clause = None;
        crate::model::config_flow::visit(ctx.tree.root_node(), &mut |node| {
            if node.kind_name() == "except_clause" {
                clause = Some(node);
            }
        });
        let clause = clause.expect("an except clause");
        assert!(catches_everything(&caught_exceptions(&ctx, clause)));
        assert!(raises_in(clause));
    }

    #[test]
    fn other_failures_and_reauth_are_not() {
        let source = "async def f(self):\n    try:\n        pass\n    except CannotConnect as err:\n        raise UpdateFailed(1) from err\n\
            \n    try:\n        pass\n    except PermissionError:\n        raise UpdateFailed(2)\n\
            \n    try:\n        pass\n    except AuthError:\n        self.entry.async_start_reauth(self.hass)\n        raise UpdateFailed(3)\n\
            \n    try:\n        pass\n    except AuthError:\n        return False\n\
            \n    if resp.status == 500:\n        raise UpdateFailed(4)\n    if resp.status == 401:\n        pass\n    raise UpdateFailed(5)\n\
            \n    try:\n        pass\n    except AuthError:\n        def later():\n            raise UpdateFailed(6)\n";
        for statement in [
            "raise UpdateFailed(1) from err",
            "raise UpdateFailed(2)",
            "raise UpdateFailed(3)",
            "raise UpdateFailed(4)",
            "raise UpdateFailed(5)",
            "raise UpdateFailed(6)",
            "return False",
        ] {
            assert!(!handles(source, statement), "{statement}");
        }
    }
}
