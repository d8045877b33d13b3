//! The server's layers, read from its sources: no module imports one of a
//! layer above its own, and no import cycle joins files outside the GraphQL
//! object graph (types that name each other). `docs/architecture.md` draws
//! the layers; a failure prints the imports at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every `.rs` file under `dir`, by module path (`service::campaigns::campaign::read`).
fn modules(dir: &Path) -> BTreeMap<Module, PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Module, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Module = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|last| last == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] || parts == ["main"] {
                    parts.clear();
                }
                out.insert(parts, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The source without its unit-test modules (`#[cfg(test)] mod …`, which
/// close each file).
fn without_tests(source: &str) -> &str {
    match source.find("#[cfg(test)]\nmod ") {
        Some(at) => &source[..at],
        None => source,
    }
}

/// The source without `//` comments (doc links are not imports).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a source names after `prefix` (`crate::` or `super::`): each
/// as its segments, a `{a, b::c}` group giving one path per member.
fn paths_after(source: &str, prefix: &str) -> Vec<Module> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for (at, _) in source.match_indices(prefix) {
        if source[..at].ends_with(|c: char| ident(c) || c == ':') {
            continue; // `super::super::`, `foo::crate::`
        }
        let rest = &source[at + prefix.len()..];
        let mut segments: Module = Vec::new();
        let mut i = 0;
        loop {
            if rest[i..].starts_with('{') {
                // A group: one path per member (`self` adds nothing new).
                let close = rest[i..].find('}').map_or(rest.len(), |n| i + n);
                for member in rest[i + 1..close].split(',') {
                    let member: Module = member
                        .trim()
                        .split(" as ")
                        .next()
                        .unwrap_or_default()
                        .split("::")
                        .map(str::to_owned)
                        .collect();
                    let module_like = member.first().is_some_and(|first| {
                        first.starts_with(|c: char| c.is_ascii_lowercase()) && first != "self"
                    });
                    if module_like {
                        found.push([segments.clone(), member].concat());
                    }
                }
                break;
            }
            let end = rest[i..]
                .find(|c: char| !ident(c))
                .map_or(rest.len(), |n| i + n);
            if end == i {
                break;
            }
            segments.push(rest[i..end].to_owned());
            if rest[end..].starts_with("::") {
                i = end + 2;
            } else {
                break;
            }
        }
        if !segments.is_empty() {
            found.push(segments);
        }
    }
    found
}

/// The file-level import graph of the crate in `dir`.
fn graph(dir: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let files = modules(dir);
    let resolve = |path: &[String]| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| files.contains_key(prefix))
    };
    let mut edges = BTreeMap::new();
    for (module, path) in &files {
        let source = std::fs::read_to_string(path).unwrap();
        let source = without_comments(without_tests(&source));
        let source = source.as_str();
        // `super` of `a::b` is `a`, whether `b` is `a/b.rs` or `a/b/mod.rs`.
        let parent: Module = module[..module.len().saturating_sub(1)].to_vec();
        let mut targets = BTreeSet::new();
        for named in paths_after(source, "crate::") {
            targets.extend(resolve(&named));
        }
        for named in paths_after(source, "super::") {
            targets.extend(resolve(&[parent.clone(), named].concat()));
        }
        targets.remove(module);
        edges.insert(module.clone(), targets);
    }
    edges
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<Module>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<BTreeSet<Module>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in &self.edges[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

/// 0 foundation, 1 vocabulary, 2 infrastructure, 3 service, 4 adapters,
/// 5 composition root (as `docs/architecture.md` draws them).
fn layer(module: &[String]) -> u8 {
    let name = |i: usize| module.get(i).map(String::as_str);
    match (name(0), name(1)) {
        // The composition root, and the data-set generator (a tool).
        (None | Some("seed" | "import"), _) => 5,
        (
            Some(
                "error" | "config" | "metrics" | "telemetry" | "db" | "redis_link" | "sql" | "text"
                | "net",
            ),
            _,
        ) => 0,
        // Leaves that live among the services but import only foundation.
        (Some("service"), Some("validate" | "secret" | "viewer" | "source")) => 0,
        (Some("vocabulary"), _) => 1,
        (Some("counters" | "bus" | "cache" | "ratelimit" | "outbox"), _) => 2,
        (Some("service" | "state"), _) => 3,
        (Some("graphql" | "http"), _) => 4,
        (Some(other), _) => {
            panic!("no layer for the module `{other}`: add it to docs/architecture.md and here")
        }
    }
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("::")
    }
}

fn server_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("api/src")
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let edges = graph(&server_sources());
    assert!(edges.len() > 100, "the sources were read: {}", edges.len());
    let climbing: Vec<String> = edges
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| layer(to) > layer(from))
        .map(|(from, to)| {
            format!(
                "{} (layer {}) imports {} (layer {})",
                name(from),
                layer(from),
                name(to),
                layer(to)
            )
        })
        .collect();
    assert!(
        climbing.is_empty(),
        "imports that climb a layer:\n{}",
        climbing.join("\n")
    );
}

#[test]
fn no_import_cycle_but_the_graphql_object_graph() {
    let edges = graph(&server_sources());
    for cycle in cycles(&edges) {
        let names: BTreeSet<String> = cycle.iter().map(|module| name(module)).collect();
        // `cargo test architecture:: -- --nocapture` lists them.
        eprintln!("import cycle of {} files: {names:?}", names.len());
        let inside: Vec<String> = cycle
            .iter()
            .flat_map(|from| {
                edges[from]
                    .iter()
                    .filter(|to| cycle.contains(*to))
                    .map(move |to| format!("{} -> {}", name(from), name(to)))
            })
            .collect();
        // GraphQL objects that name each other are the schema's graph.
        let object_graph = names.iter().all(|name| name.starts_with("graphql::"));
        assert!(
            object_graph,
            "an import cycle of {} files:\n{}",
            names.len(),
            inside.join("\n")
        );
    }
}

#[test]
fn the_reader_finds_grouped_and_nested_paths() {
    let source = "use crate::service::{identity::auth, campaigns::campaign::read as campaigns, validate};\nuse super::sql::Sql;\nfn f() { crate::db::begin_write(); }";
    let crate_paths: Vec<String> = paths_after(source, "crate::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert!(
        crate_paths.contains(&"service::identity::auth".to_owned()),
        "{crate_paths:?}"
    );
    assert!(
        crate_paths.contains(&"service::campaigns::campaign::read".to_owned()),
        "{crate_paths:?}"
    );
    assert!(
        crate_paths.contains(&"db::begin_write".to_owned()),
        "{crate_paths:?}"
    );
    assert_eq!(
        paths_after(source, "super::"),
        [vec!["sql".to_owned(), "Sql".to_owned()]]
    );
    let grouped: Vec<String> = paths_after("use super::{groups, query::Scope};", "super::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(grouped, ["groups", "query::Scope"]);
    let knot: BTreeMap<Module, BTreeSet<Module>> = [
        (vec!["a".to_owned()], BTreeSet::from([vec!["b".to_owned()]])),
        (vec!["b".to_owned()], BTreeSet::from([vec!["a".to_owned()]])),
        (vec!["c".to_owned()], BTreeSet::from([vec!["a".to_owned()]])),
    ]
    .into_iter()
    .collect();
    assert_eq!(cycles(&knot).len(), 1);
}
