//! Text for HTML pages and mail: the one HTML escaper. Hand-written on
//! purpose: five replacements, the same for element content and quoted
//! attribute values, where a crate would add a dependency for less.

/// `value` safe inside HTML element content and quoted attribute values:
/// `&`, `<`, `>`, `"` and `'` become entities.
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Appends `c` to `out`, escaped as [`escape_html`] does.
pub fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn every_character_that_ends_a_value_or_opens_a_tag_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x" title='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;"
        );
        assert_eq!(escape_html("Zoé"), "Zoé");
    }
}
