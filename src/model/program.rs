//! Programs run by hand: the tools and test scripts that ship beside an
//! integration (`get_token.py`, `scripts/test_login.py`) and print, prompt or
//! request what their author runs them for. Home Assistant never runs them.

use tree_sitter::Node;

use super::{FileContext, integration::ParsedFile, syntax::NodeExt};
use crate::rules::vocabulary::Vocabulary;

/// The modules Home Assistant imports from an integration by their name, with
/// no import statement of the integration's own: its package, its flows and
/// the platforms and helpers it may provide.
const LOADED_BY_NAME: &[&str] = &[
    "__init__",
    "__main__",
    "config_flow",
    "diagnostics",
    "system_health",
    "repairs",
    "application_credentials",
    "device_action",
    "device_condition",
    "device_trigger",
    "logbook",
    "recorder",
    "media_source",
    "intent",
    "trigger",
    "condition",
    "backup",
    "energy",
    "reproduce_state",
    "significant_change",
    "group",
    "air_quality",
    "ai_task",
    "alarm_control_panel",
    "assist_satellite",
    "binary_sensor",
    "button",
    "calendar",
    "camera",
    "climate",
    "conversation",
    "cover",
    "date",
    "datetime",
    "device_tracker",
    "event",
    "fan",
    "geo_location",
    "humidifier",
    "image",
    "image_processing",
    "lawn_mower",
    "light",
    "lock",
    "media_player",
    "notify",
    "number",
    "remote",
    "scene",
    "select",
    "sensor",
    "siren",
    "stt",
    "switch",
    "text",
    "time",
    "todo",
    "tts",
    "update",
    "vacuum",
    "valve",
    "wake_word",
    "water_heater",
    "weather",
];

/// The modules of an integration's files that are programs run by hand: each
/// runs something when started ([`runs_as_program`]), no file of the
/// integration imports it or names its file (a program the integration starts
/// itself: `[sys.executable, ".../mc.py", command]`) and Home Assistant does
/// not load it by name. A stem two files share counts only when both are such
/// programs.
pub fn run_by_hand(parsed: &[ParsedFile], vocabulary: &Vocabulary) -> Vec<String> {
    let contexts: Vec<FileContext> = parsed
        .iter()
        .map(|file| FileContext::new(file.text.as_bytes(), file.tree, vocabulary))
        .collect();
    let mut programs: Vec<String> = Vec::new();
    let mut libraries: Vec<&str> = Vec::new();
    for (index, (file, ctx)) in parsed.iter().zip(&contexts).enumerate() {
        // Its own usage text may name its file (`python get_token.py`).
        let mut others = contexts
            .iter()
            .enumerate()
            .filter(|&(other, _)| other != index);
        if runs_as_program(ctx)
            && !LOADED_BY_NAME.contains(&file.module)
            && !others.any(|(_, other)| uses_module(other, file.module))
        {
            programs.push(file.module.to_string());
        } else {
            libraries.push(file.module);
        }
    }
    programs.retain(|module| !libraries.contains(&module.as_str()));
    programs
}

/// Does the file name `module` in one of its import statements
/// (`from .get_token import main`, `from . import get_token`), or name its
/// file (`"get_token.py"`)?
fn uses_module(ctx: &FileContext, module: &str) -> bool {
    ctx.contains(module)
        && (ctx.contains(&format!("{module}.py"))
            || ctx.identifiers_named(module).any(|name| {
                ctx.ancestors(name).any(|ancestor| {
                    matches!(
                        ancestor.kind_name(),
                        "import_statement" | "import_from_statement"
                    )
                })
            }))
}

/// Does the file do something when it is started, as a program: a top-level
/// `if __name__ == "__main__":` block, a program started unguarded
/// ([`starts_a_program`]), or at its top level a `print(...)`, an `input(...)`
/// or the arguments parsed (`args = parser.parse_args()`)?
pub fn runs_as_program(ctx: &FileContext) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    let top_level: Vec<Node> = root.named_children(&mut cursor).collect();
    top_level.iter().any(|statement| {
        is_main_guard(ctx, *statement)
            || top_level_call(*statement).is_some_and(|call| talks_to_a_user(ctx, call))
    }) || starts_a_program(ctx)
}

/// `if __name__ == "__main__":`
pub fn is_main_guard(ctx: &FileContext, statement: Node) -> bool {
    statement.kind_name() == "if_statement"
        && statement.field("condition").is_some_and(|c| {
            let condition: String = ctx.text(c).split_whitespace().collect();
            condition == "__name__==\"__main__\"" || condition == "__name__=='__main__'"
        })
}

/// Does the file start a program at its top level, outside any guard:
/// `asyncio.run(...)`, `loop.run_until_complete(...)`, or a call of its own
/// `main()`? Importing such a file inside Home Assistant's running event loop
/// would fail.
pub fn starts_a_program(ctx: &FileContext) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).any(|statement| {
        statement.kind_name() == "expression_statement"
            && statement
                .named_child(0)
                .filter(|e| e.kind_name() == "call")
                .and_then(|call| call.field("function"))
                .is_some_and(|function| runs_the_program(ctx, function))
    })
}

/// The call a top-level statement makes: `f(...)`, or `x = f(...)`.
fn top_level_call(statement: Node) -> Option<Node> {
    let expression = statement.named_child(0)?;
    let call = match (statement.kind_name(), expression.kind_name()) {
        ("expression_statement", "call") => expression,
        ("expression_statement", "assignment") => expression.field("right")?,
        _ => return None,
    };
    (call.kind_name() == "call").then_some(call)
}

/// `print(...)`, `input(...)`, `parser.parse_args()`: what a module imported
/// by Home Assistant never does when it is loaded.
fn talks_to_a_user(ctx: &FileContext, call: Node) -> bool {
    call.field("function")
        .is_some_and(|function| match function.kind_name() {
            "identifier" => matches!(ctx.text(function), "print" | "input"),
            "attribute" => function
                .field("attribute")
                .is_some_and(|a| ctx.text(a) == "parse_args"),
            _ => false,
        })
}

/// Is a top-level call of `function` how a program starts?
fn runs_the_program(ctx: &FileContext, function: Node) -> bool {
    match function.kind_name() {
        "identifier" if ctx.text(function) == "main" => defines_at_top_level(ctx, &["main"]),
        "attribute" => {
            function
                .field("attribute")
                .is_some_and(|a| ctx.text(a) == "run_until_complete")
                || ctx
                    .qualified_name(function)
                    .is_some_and(|name| &*name == "asyncio.run")
        }
        _ => false,
    }
}

/// Does the file define, at its top level, a function or class with one of
/// these names?
pub fn defines_at_top_level(ctx: &FileContext, names: &[&str]) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).any(|statement| {
        let definition = if statement.kind_name() == "decorated_definition" {
            statement.field("definition")
        } else {
            Some(statement)
        };
        definition
            .filter(|d| matches!(d.kind_name(), "function_definition" | "class_definition"))
            .and_then(|d| d.field("name"))
            .is_some_and(|name| names.contains(&ctx.text(name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::{Snippet, parse};

    fn program(source: &str) -> bool {
        let snippet = Snippet::new(source);
        runs_as_program(&snippet.ctx())
    }

    #[test]
    fn programs_run_something_when_started() {
        assert!(program(
            "def f():\n    pass\nif __name__ == '__main__':\n    f()\n"
        ));
        assert!(program(
            "import argparse\nargs = argparse.ArgumentParser().parse_args()\n"
        ));
        assert!(program("def f():\n    pass\nprint(f())\n"));
        assert!(program("user = input('user: ')\n"));
        assert!(program(
            "import asyncio\nasync def main():\n    pass\nasyncio.run(main())\n"
        ));
        // Only at the top level: a function may print.
        assert!(!program("def f():\n    print('x')\n"));
        assert!(!program("_LOGGER = logging.getLogger(__name__)\nsetup()\n"));
    }

    #[test]
    fn run_by_hand_are_programs_nothing_imports_nor_home_assistant_loads() {
        let files = [
            (
                "__init__",
                "from .api import Client\nasync def async_setup_entry(hass, entry):\n    from . import helper\n",
            ),
            (
                "api",
                "class Client:\n    pass\nif __name__ == '__main__':\n    print(Client())\n",
            ),
            ("helper", "print('imported inside a function')\n"),
            (
                "__init__",
                "import subprocess\nsubprocess.run(['python3', 'poll.py'])\n",
            ),
            ("poll", "print('started by the integration')\n"),
            (
                "get_token",
                "\"\"\"Usage: python get_token.py\"\"\"\ndef main():\n    pass\nif __name__ == '__main__':\n    main()\n",
            ),
            (
                "sensor",
                "def setup():\n    pass\nif __name__ == '__main__':\n    setup()\n",
            ),
            ("tool", "print('one of two files named tool')\n"),
            ("tool", "def not_a_program():\n    pass\n"),
        ];
        let trees: Vec<_> = files.iter().map(|(_, text)| parse(text)).collect();
        let parsed: Vec<ParsedFile> = files
            .iter()
            .zip(&trees)
            .map(|((module, text), tree)| ParsedFile { module, text, tree })
            .collect();
        let vocabulary = Vocabulary::default();
        assert_eq!(
            run_by_hand(&parsed, &vocabulary),
            vec!["get_token".to_string()]
        );
    }
}
