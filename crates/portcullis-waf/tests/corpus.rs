//! Data-driven quality floors on the shared corpora at paranoia level 1 (the default).
//!
//! Floors sit just below what the engine measured when they were set (ceilings for false
//! positives just above); raise them when detection improves, never lower them to make a change
//! pass. `cargo run -p portcullis-waf --release --example corpus_report` prints the full tables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/corpus_eval.rs"]
mod corpus_eval;

use corpus_eval::{Count, corpora_dir, evaluate, load};

fn at_least(what: &str, c: Count, floor: f64, failures: &mut Vec<String>) {
    if c.pct() < floor {
        failures.push(format!("{what}: {c} is below the floor {floor}%"));
    }
}

fn at_most(what: &str, c: Count, ceiling: f64, failures: &mut Vec<String>) {
    if c.pct() > ceiling {
        failures.push(format!("{what}: {c} is above the ceiling {ceiling}%"));
    }
}

#[test]
fn paranoia_one_meets_detection_and_false_positive_floors() {
    let dir = corpora_dir(None).unwrap_or_else(|e| panic!("{e}"));
    let corpora = load(&dir);
    let r = evaluate(&corpora, 1);
    corpus_eval::print(&r);
    let mut failures = Vec::new();

    // libinjection corpus, each placement.
    for placement in corpus_eval::PLACEMENTS {
        let sqli = r.lib_detect[&("sqli".to_owned(), placement.to_owned())];
        at_least(
            &format!("libinjection sqli in {placement}"),
            sqli,
            99.8,
            &mut failures,
        );
        let xss = r.lib_detect[&("xss".to_owned(), placement.to_owned())];
        at_least(
            &format!("libinjection xss in {placement}"),
            xss,
            99.5,
            &mut failures,
        );
    }

    // benign.jsonl must pass at default settings.
    at_most(
        "benign.jsonl false positives",
        r.benign_fp,
        0.1,
        &mut failures,
    );

    // CRS regression attacks, all cases of each family (reference: ModSecurity + CRS 3.3 at PL1).
    for (family, floor) in [
        ("sqli", 46.6),
        ("xss", 81.0),
        ("rce-command-injection", 61.0),
        ("lfi-path-traversal", 78.0),
        ("protocol-attack", 81.5),
        ("php-injection", 74.0),
        ("java-attack", 72.0),
        ("rfi", 60.0),
        ("multipart-attack", 99.0),
        ("protocol-enforcement", 52.0),
        ("generic-attack", 57.0),
        ("session-fixation", 99.0),
    ] {
        at_least(
            &format!("CRS {family}"),
            r.crs_attack[family].0,
            floor,
            &mut failures,
        );
    }
    at_least("CRS overall", r.crs_attack_all.0, 64.5, &mut failures);

    // The reference (nginx + ModSecurity + CRS 3.3.4 at PL1, tests/data/crs-reference-pl1.txt)
    // on the same cases: at least as many detections in every family. Method enforcement is
    // left out: the reference runs with CRS's default methods and so refuses DELETE, which an
    // API gateway lets the route decide.
    for (family, ours) in &r.crs_attack {
        let reference = r.crs_ref_attack.get(family).copied().unwrap_or_default();
        if family != "method-enforcement" && ours.0.hit < reference.hit {
            failures.push(format!(
                "CRS {family}: {} detected, the reference detects {}",
                ours.0, reference
            ));
        }
    }

    // CRS negatives of PL1 rules: a negative only promises that its own rule stays silent,
    // and the reference blocks 172 of the 455, attack strings aimed at a sibling rule. The
    // ones the reference lets through are the false positives that count; the three left are
    // attacks too (backtick substitution, a vi shell escape, script in a parameter name). The
    // looser ceilings guard the rest, and the negatives of higher-level rules.
    at_most(
        "CRS PL1 negatives the reference passes",
        r.crs_fp_pl1_ref_passes,
        1.1,
        &mut failures,
    );
    at_most(
        "CRS negatives the reference passes",
        r.crs_fp_all_ref_passes,
        1.25,
        &mut failures,
    );
    at_most(
        "CRS PL1 negatives blocked",
        r.crs_fp_pl1,
        10.6,
        &mut failures,
    );

    // The project's own cases (tests/data/heldout*.jsonl), written to check that the detectors
    // generalise beyond the shared sample: attacks in every family and location, and the
    // benign traffic that trips WAFs (Markdown, prose with SQL and shell words, code, URLs).
    // Per file: each was written apart, the later ones after the engine had learnt from the
    // earlier, so each has its own floor.
    for (file, attacks, benign) in [
        ("heldout.jsonl", 99.5, 1.5),
        ("heldout2.jsonl", 99.5, 0.5),
        ("heldout3.jsonl", 99.0, 0.6),
        // Machine-to-machine API traffic: the benign half is mostly code, filter languages,
        // shell, SQL and HTML that APIs of that kind carry by design (see docs/waf.md).
        ("heldout4.jsonl", 99.0, 9.0),
        // Consumer and clinical APIs: GraphQL, FHIR, payments, mobile telemetry, eleven
        // scripts, spreadsheets and calendars; attacks built on evasions.
        ("heldout5.jsonl", 99.0, 1.0),
        // Enterprise integrations and publishing: SOAP, SAML, EDI, CMS templates, developer
        // blog posts with code, ops consoles; attacks in template, XSLT, deserialisation and
        // spreadsheet formula forms.
        ("heldout6.jsonl", 99.5, 10.3),
        // Device, logistics, gaming, ad-tech, search, chat, developer-tool and map APIs: the
        // benign half leans on code in chat and CI (shell, SQL), query languages (InfluxQL,
        // Splunk, Overpass) and XML documents; attacks are evasions in every family.
        ("heldout7.jsonl", 98.0, 11.1),
        // Healthcare (FHIR), banking, travel, HR, education, real estate, music, food, legal,
        // CI/CD, infrastructure-as-code, support, science and news APIs; attacks add template
        // injection, callback dispatch (ThinkPHP, Drupal) and header abuse.
        ("heldout8.jsonl", 98.5, 2.0),
        // CRM, marketing e-mail, docs, chat, IoT, logistics, payroll and insurance APIs, with
        // ordinary HTML e-mail (inline styles), Markdown, arithmetic and boolean searches;
        // attacks add WebDAV shares, log forging and conflicting method overrides. First run,
        // blind: 197 of 201 attacks, 9 of 191 benign blocked.
        ("heldout9.jsonl", 99.5, 1.6),
        // AI and data platforms (LLM chat, agent tools, vector databases, telemetry, data
        // warehouses, open-data portals) and civic services (tax, permits, courts, libraries,
        // transit, e-learning); attacks add LDAP, XPath and NoSQL injection. First run,
        // blind: 209 of 212 attacks, 29 of 202 benign blocked.
        ("heldout10.jsonl", 99.5, 8.5),
        // Consumer apps full of user-generated text (reviews, forums, profiles, delivery
        // notes, support chat, many scripts and emoticons), with attacks hidden in the same
        // fields and in uploads (Ghostscript, ExifTool DjVu). First run, blind: 210 of 214
        // attacks, 1 of 201 benign blocked.
        ("heldout11.jsonl", 99.5, 0.5),
        // Scientific, engineering, financial and clinical notation: SMILES and InChI, FASTA,
        // LaTeX and model formulas, FIX and SWIFT messages, HL7 v2, SCPI, G-code, EDIFACT,
        // spreadsheet formulas; attacks add path segments, remote XSLT, Express's JSON
        // cookies and JSON filters in query strings. First run, blind: 212 of 220 attacks,
        // 11 of 200 benign blocked.
        ("heldout12.jsonl", 99.5, 2.0),
        // IT operations and Windows administration, developer tools and code playgrounds,
        // URL-handling APIs, OAuth/OIDC/SAML flows with cross-site referers, low-code
        // formulas, PHP hosting panels; attacks weighted to cmd.exe and PowerShell,
        // scheme-less SSRF, Node, PHP callables and session fixation. First run, blind: 220
        // of 227 attacks, 17 of 200 benign blocked.
        ("heldout13.jsonl", 98.5, 7.0),
        // Veterinary, rostering, sports, insurance, metering, genealogy, astronomy (ADQL),
        // SQL and shell courses, a security vendor, code review, ETL; attacks spread evenly
        // over fifteen families, with string concatenation, PowerShell aliases, XPath
        // functions, repeated JSON keys and XML mapped onto objects. First run, blind: 210 of
        // 225 attacks, 19 of 200 benign blocked. The attacks left are two method overrides of
        // a POST (a header, a form's `_method`), two parameter-pollution requests, a CouchDB selector over
        // `_id`, and a forged `X-Forwarded-Host` and `Forwarded` (the gateway replaces the
        // first and drops the second for clients outside `trusted_proxies`).
        ("heldout14.jsonl", 96.5, 8.0),
        // Hotels, ticketing, farms, fleets, dental, music notation, chess, maths homework,
        // patent and e-discovery search, package registries, DNS, e-mail templates, CAD,
        // subtitles, schedulers, regex testers; attacks add GraphQL and XXE and hide payloads
        // in base64 (a JSON filter, a SAML message), JSON serialised into strings, multipart
        // field names and URL-parser confusion. First run, blind: 210 of 223 attacks, 4 of
        // 200 benign blocked.
        ("heldout15.jsonl", 100.0, 1.0),
        // Aviation weather, AIS, GTFS, e-prescriptions, bioinformatics pipelines, ROS,
        // home automation, game servers, wallets, accounting, cXML, SPARQL, MARC, bug
        // trackers, gateway admin APIs, PromQL/LogQL/KQL, syslog, Sieve, VPN configs; attacks
        // add deserialisation (Java, .NET, PHP, pickle, YAML) and CVE exploit chains. First
        // run, blind: 197 of 204 attacks, 17 of 180 benign blocked (query languages, shell
        // in configs and logs: by design without exclusions).
        ("heldout16.jsonl", 99.5, 9.5),
        // Dental labs, piano tuning, beekeeping, court e-filing, brewing, tide tables, sign
        // language, crosswords, orchestra libraries, fire inspections, drone logs, seed banks,
        // ham radio, schema registries, runbooks; attacks written after published CVE
        // exploits of 2021-2026 (OGNL, SpEL routing headers, AI-flow code fields, model-pull
        // traversal, CLI `@file` expansion, PHP filter chains, Next.js internal headers). First
        // run, blind: 216 of 231 attacks, 7 of 200 benign blocked. Left: a Jenkins CLI
        // channel's binary body (`@/etc/passwd`), PHP backticks in a builder's query editor,
        // and a forged `Forwarded` and `X-Forwarded-Host` (the gateway drops the first and
        // replaces the second for clients outside `trusted_proxies`).
        ("heldout17.jsonl", 98.0, 3.5),
        // Evasion of every family (encodings, comments, string building, globbing, address
        // forms, parameter pollution, unusual locations, charset and content-type
        // confusion) beside benign traffic that looks like it; GraphQL abuse (introspection,
        // batching, depth, fragment cycles, directive overloading). First run, blind: 200 of
        // 212 attacks, 12 of 225 benign blocked.
        ("heldout18.jsonl", 100.0, 4.0),
        // Mainstream production traffic: mobile and single-page app backends, webhooks from
        // payment, e-mail, CRM and shipping platforms, OpenRTB, open banking, telehealth,
        // profiles and addresses in many languages; attacks placed inside those shapes
        // (bracketed form keys, GraphQL variables, webhook payloads, OAuth assertions).
        // First run, blind: 203 of 208 attacks, 2 of 232 benign blocked. Left: a forged
        // `X-Forwarded-Host` (the gateway's to replace) and a commit message that says
        // `<script>`.
        ("heldout19.jsonl", 99.0, 1.0),
        // Standards-based and enterprise APIs whose ordinary traffic carries query languages
        // and structured text: OData, SCIM, FHIR, JSON:API, Elasticsearch, SPARQL, Cypher,
        // SOQL, KQL, SPL, JSON Patch, signed URLs, SAML, EDI, iCalendar, mail; attacks inside
        // those standards (OData `$batch`, FHIR narratives, inbound mail, GraphQL cost). First
        // run, blind: 205 of 213 attacks, 26 of 234 benign blocked (the reference: 130 and
        // 101). Left: a painless script through a search proxy, a JSON body sent as
        // `text/plain` across sites, a forged `X-Forwarded-Host`; blocked benign: SQL, KQL,
        // SPL and Cypher sent to the endpoints made for them, and code in documents.
        ("heldout20.jsonl", 98.5, 9.0),
        // International traffic (names, addresses, chat and reviews in many scripts, IDNs,
        // translation files, right-to-left text, emoji) beside attacks disguised with
        // Unicode: full-width and compatibility forms, homoglyphs, zero-width and bidi
        // characters, overlong UTF-8, best-fit mappings (`¥` as `\`, `＂` as `"`), Turkish
        // `ı`. First run, blind: 195 of 211 attacks, 4 of 244 benign blocked (the reference:
        // 114 and 28). Left: a forged `X-Forwarded-Host`, an absolute-form request to the
        // metadata address (the gateway is no forward proxy); blocked benign: a shell
        // one-liner in a snippet service, a chat line with `&&`, `||` and backticks.
        ("heldout21.jsonl", 99.0, 1.0),
        // Devices, networks and operations: router and camera admin pages, NAS, smart-home
        // and SCADA gateways, monitoring and log queries (PromQL, LogQL, InfluxQL, SPL),
        // configuration management, cron, systemd, syslog, inventories; attacks after
        // published exploits of such devices (diagnostics command injection, NTP and
        // hostname fields, config downloads, auth bypasses). First run, blind: 209 of 219
        // attacks, 29 of 245 benign blocked (the reference: 147 and 56). Left: Hikvision's
        // magic `auth` parameter, Netgear's `currentsetting.htm` bypass, a forged
        // `X-Forwarded-Host`; blocked benign: shell, firewall rules and web server
        // configuration in the fields made for them, process command lines in inventories.
        ("heldout22.jsonl", 98.5, 8.0),
        // Content management and e-commerce with their plugins: WordPress (REST, admin-ajax,
        // XML-RPC, page builders), WooCommerce, Magento, Shopify, Drupal, Joomla, TYPO3,
        // Ghost, Strapi, Directus, Umbraco, Sitecore; attacks after published plugin and
        // platform exploits (php://filter chains in headers, template directives, .NET
        // gadgets, reset tokens as operators). First run, blind: 201 of 216 attacks, 21 of
        // 243 benign blocked (the reference: 133 and 47). Left: an encrypted Telerik upload,
        // a TimThumb fetch, Strapi's reset `code` as an operator, a registration asking for a role,
        // Host and `X-Forwarded-Host` spoofing, cache deception, and a GraphQL query that
        // does not parse; blocked benign: script tags in admin "header scripts" settings and
        // theme files, SQL in tutorials and quiz answers, a review naming `<script async>`.
        ("heldout23.jsonl", 96.0, 7.0),
        // Java, JVM and enterprise middleware: Spring Boot, Atlassian, Jenkins, Struts,
        // Tomcat, WebLogic, Liferay, OFBiz, Solr, Elasticsearch, Keycloak, Jolokia, JSF,
        // Camunda, Kafka; attacks after published exploits of them (Log4Shell, SpEL, OGNL,
        // JDBC URLs, matrix-parameter path confusion, Jolokia MBeans, deserialisation).
        // First run, blind: 201 of 217 attacks, 44 of 241 benign blocked (the reference: 142
        // and 78). Left: a JSP sent by PUT as octet-stream, a BPMN script task, encrypted
        // and binary serialised objects (Shiro's rememberMe, Jenkins' remoting channel),
        // a FreeMarker upload as octet-stream, SQL to OFBiz's SQL processor, Jenkins CLI's
        // `@/etc/passwd`, aliased login attempts, forwarded host headers; blocked benign:
        // class names, SQL, JQL and CQL, Groovy and shell in the places made for them.
        ("heldout24.jsonl", 95.5, 16.5),
        // Cloud-native and DevOps platforms: Kubernetes, Docker, registries, GitLab, Gitea,
        // Grafana, Kibana, Argo CD, TeamCity, Vault, Consul, Airflow, Superset, Jupyter,
        // MLflow, MinIO, gateway admin APIs; attacks after published exploits of them. First
        // run, blind: 210 of 219 attacks, 33 of 238 benign blocked (the reference: 138 and
        // 65). Left: GitLab's user enumeration by GraphQL (a plain query), a Docker endpoint
        // at the metadata host without a path (a probe, paranoia 2); blocked benign: shell in
        // container commands, health checks and CI steps, SQL in SQL Lab and notebooks,
        // detection rules quoting reverse shells, internal service URLs set as data sources.
        ("heldout25.jsonl", 99.0, 11.0),
        // Node.js, Python, Ruby, Go and .NET frameworks: Express, Next.js, Nuxt, Django,
        // Flask, Rails, Gin, ASP.NET Core, their template engines, ORMs and Mongo query
        // documents; attacks after published exploits of them (prototype pollution gadgets,
        // jsonpickle and Oj class hints, Rails' `calculate`). First run, blind: 208 of 216
        // attacks, 24 of 241 benign blocked (the reference: 126 and 53). Left: Active
        // Storage's doubly encoded blob key, Graphene's `_debug` field, a Go template reading
        // `.Config`, Host and `X-Forwarded-Host` spoofing; blocked benign: Mongo update and
        // text-search documents, shell in code blocks and Dockerfiles.
        ("heldout26.jsonl", 97.5, 8.5),
        // E-mail, webmail, chat and collaboration servers: Exchange, Zimbra, Roundcube,
        // SquirrelMail, Mattermost, Rocket.Chat, Matrix, CalDAV, ticketing inboxes,
        // transactional mail APIs; attacks after published exploits of them. First run,
        // blind: 197 of 215 attacks, 18 of 241 benign blocked (the reference: 133 and 60).
        // Since: LDAP filters in a GAL search sent as JSON under an XML type and in Basic
        // credentials, a Meteor method's operator token, Zimbra's tar and BigBlueButton's
        // PostScript uploads, an XPath `name()` test, an SVG upload with `&gt;` (210 and 17).
        // Left: aliased login mutations, a circular GraphQL query, `Translate: f`, cross-site
        // WebSocket origins, forwarded hosts; blocked benign: HTML mail bodies, shell in chat,
        // raw mail headers pasted into chat and forms.
        ("heldout27.jsonl", 97.5, 7.5),
        // Data stores, search and analytics engines and the layers over them: Elasticsearch,
        // Solr, CouchDB, ClickHouse, InfluxDB, Prometheus and Loki, Neo4j, ArangoDB, Druid,
        // Pinot, Trino, Webdis, PostgREST and Hasura; attacks after published exploits of
        // them. First run, blind: 167 of 217 attacks, 40 of 240 benign blocked (the
        // reference: 134 and 78). Most blocked benign were whole SQL statements sent to the
        // endpoints made to run them. Left: forged sessions, settings and writes only
        // permissions can judge, filter syntax of search engines, alternation ReDoS.
        ("heldout28.jsonl", 86.5, 7.5),
        // ERP, CRM, HR, e-learning and practice-management suites: SAP, Oracle EBS and
        // PeopleSoft, Odoo, ERPNext, Dolibarr, SuiteCRM, SugarCRM, vTiger, Salesforce,
        // Dynamics, Moodle, Canvas, Chamilo, OpenEMR, OrangeHRM; attacks after published
        // exploits of them. First run, blind: 200 of 223 attacks, 17 of 240 benign blocked
        // (the reference: 154 and 47). Left: base64 inside SOAP, a ViewState gadget,
        // one-letter webshell parameters, method override, forwarded hosts.
        ("heldout29.jsonl", 92.5, 3.5),
        // Mobile-app backends: Parse Server, Appwrite, Supabase, Firebase, PocketBase, push,
        // payments and their webhooks, analytics, native OAuth, feature flags, crash reports;
        // attacks after published exploits and technique. First run, blind: 180 of 216
        // attacks, 6 of 240 benign blocked (the reference: 110 and 20). Left: mass
        // assignment, redirect URIs, Parse ACL and role writes, operator documents on
        // ordinary fields, a field nested in itself. Since: open redirects in disguise,
        // operators that match everything (191).
        ("heldout30.jsonl", 88.0, 3.0),
        // Identity providers and regulated sectors: Keycloak, Okta, Auth0, Entra, Ping, SCIM,
        // SAML, OIDC, FHIR, HL7 v2, DICOMweb, open banking, ISO 20022, cards and KYC, claims,
        // tax and e-government, e-signature; attacks after published exploits of them. First
        // run, blind: 194 of 221 attacks, 2 of 240 benign blocked (the reference: 144 and
        // 43). Since: SAML messages read whole, HL7 bodies, SCIM filter tautologies, a JWS
        // in a header of its own, signature wrapping (214). Left: keys named by the token.
        ("heldout31.jsonl", 96.5, 1.5),
        // Consumer services: streaming, games, social networks and forums, ad-tech, travel,
        // logistics, point of sale, maps, ticketing; attacks after published technique. First
        // run, blind: 204 of 219 attacks, 7 of 248 benign blocked (the reference: 139 and
        // 17). Since: operators that match everything, URLs after a label, text bodies of
        // HLS playlists, .NET serialised objects, look-alike redirect hosts, a field nested in
        // itself eight deep (215 and 5). Left: plain off-site redirects; blocked benign: code
        // in forum posts.
        ("heldout32.jsonl", 98.0, 2.5),
        // IoT, industrial and energy (smart homes, SCADA panels, EV chargers, 3D printers,
        // cameras, routers) and science, research and education (genomics, chemistry,
        // astronomy, geospatial, SPARQL, LaTeX, library catalogues, autograders); attacks
        // after published technique. First run, blind: 216 of 224 attacks, 11 of 240 benign
        // blocked (the reference: 130 and 39). Since: TeX and configuration uploads read,
        // code named by `lang_file` and `template_url`, full stops that are not ASCII's,
        // filter expressions in search parameters, C's `if`, a construct given a list of
        // arguments, redirect hosts that hold the site's own name (223 and 6). Left:
        // forwarded hosts; blocked benign: code and SQL answers.
        ("heldout33.jsonl", 99.0, 3.0),
        // Legal, insurance, real estate, HR and recruiting, accounting and tax, translation and
        // publishing; attacks after published technique. First run, blind: 230 of 237
        // attacks, 8 of 246 benign blocked (the reference: 152 and 32). Since: TeX's shell
        // escape and quotation marks, ICU arguments, over-encoded redirect URLs, gzipped
        // serialised objects, SQL's IF() on literals only (232 and 5). Left: plain off-site
        // redirects, forwarded hosts, `$regex` on a `code`, an external DTD on a domain;
        // blocked benign: SQL and HTML in documentation and templates.
        ("heldout34.jsonl", 97.5, 2.5),
    ] {
        let (a, b, _) = r.project_files.get(file).copied().unwrap_or_default();
        at_least(&format!("{file} attacks"), a, attacks, &mut failures);
        at_most(&format!("{file} benign blocked"), b, benign, &mut failures);
        // And never worse than the reference on the same requests, on either count
        // (tests/data/heldout-reference-pl1.txt).
        let (ref_a, ref_b) = r.project_ref_files.get(file).copied().unwrap_or_default();
        if a.hit < ref_a.hit || b.hit > ref_b.hit {
            failures.push(format!(
                "{file}: attacks {a}, benign blocked {b}; the reference: {ref_a}, {ref_b}"
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "quality floors not met:\n{}",
        failures.join("\n")
    );
}
