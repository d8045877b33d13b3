//! The configuration reference (`docs/configuration.md`), generated from the
//! `///` docs and defaults of [`Config`] by `consumact config-reference`, so
//! that the page and the code cannot drift (a test compares them).

use clap::Args;

use super::Config;

/// The reference as Markdown: one row per setting, in declaration order.
pub fn reference() -> String {
    let command = Config::augment_args(clap::Command::new("consumact"));
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the code by `cargo run -- config-reference --out \
         docs/configuration.md`; a test fails when this page and the code \
         differ. Every setting is an environment variable and a flag of the \
         same name (`CONSUMACT_PAGE_SIZE_MAX` is `--page-size-max`); flags \
         win. Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.\n\n\
         | variable | flag | default | meaning |\n|---|---|---|---|\n",
    );
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let flag = arg
            .get_long()
            .map(|long| format!("`--{long}`"))
            .unwrap_or_default();
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|value| value.to_string_lossy().into_owned())
            .collect();
        let default = if defaults.is_empty() {
            "unset".to_owned()
        } else {
            format!("`{}`", defaults.join(","))
        };
        let help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|text| text.to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {flag} | {default} | {} |\n",
            env.to_string_lossy(),
            cell(&help)
        ));
    }
    out.push_str(
        "\nBesides these, `RUST_LOG` filters the logs (`tracing`'s syntax; unset: \
         `info,sqlx=warn,sea_orm=warn,tower_http=info`), and the test harness reads \
         the variables listed in [operations.md](operations.md#tests).\n",
    );
    out
}

/// One table cell: paragraphs joined on one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_setting_has_a_line_and_a_meaning() {
        let page = super::reference();
        for setting in ["CONSUMACT_ADDR", "DATABASE_URL", "CONSUMACT_OBSERVATORY_K"] {
            let line = page
                .lines()
                .find(|line| line.starts_with(&format!("| `{setting}` |")))
                .unwrap_or_else(|| panic!("{setting} is missing"));
            assert!(
                line.split(" | ").all(|cell| !cell.trim().is_empty()),
                "{line}"
            );
        }
        assert!(page.contains("| `CONSUMACT_ADDR` | `--addr` | `127.0.0.1:8080` |"));
    }
}
