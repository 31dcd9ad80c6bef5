//! The `help` text: every USSP command with its syntax, and the prompt's own words. Answered by
//! `ussl` itself, never sent to the server.

/// One command: its name, its syntax and what it does.
struct Entry {
    name: &'static str,
    syntax: &'static str,
    summary: &'static str,
}

/// The commands of the USSP protocol table, in the seed README's order, then the ones usld
/// added (PULL, SPLICE, SYNC, MERGE, ECHO) beside their kin.
const COMMANDS: &[Entry] = &[
    Entry {
        name: "AUTH",
        syntax: "AUTH <password>",
        summary: "authenticate (needed when the server has --password)",
    },
    Entry {
        name: "CREATE",
        syntax: "CREATE <id> [STRATEGY <s>] [TTL <ms>]",
        summary: "create a document with a merge strategy",
    },
    Entry {
        name: "GET",
        syntax: "GET <id> [PATH <path>]",
        summary: "read a document, or one path in it, as JSON",
    },
    Entry {
        name: "SET",
        syntax: "SET <id> <path> <value>",
        summary: "set a value (JSON, or plain text as a string)",
    },
    Entry {
        name: "DEL",
        syntax: "DEL <id> [PATH <path>]",
        summary: "delete a document or a path",
    },
    Entry {
        name: "SUB",
        syntax: "SUB <pattern>",
        summary: "stream changes to matching documents (Ctrl-C stops)",
    },
    Entry {
        name: "UNSUB",
        syntax: "UNSUB <pattern>",
        summary: "stop a subscription",
    },
    Entry {
        name: "PUSH",
        syntax: "PUSH <id> <path> <value>",
        summary: "append to an array",
    },
    Entry {
        name: "PULL",
        syntax: "PULL <id> <path> <value>",
        summary: "remove a value from a set, or equal elements from an array",
    },
    Entry {
        name: "INC",
        syntax: "INC <id> <path> <delta>",
        summary: "add to a number",
    },
    Entry {
        name: "SPLICE",
        syntax: "SPLICE <id> <field> <index> <delete_count> [text]",
        summary: "edit a crdt-text field at a position (code points)",
    },
    Entry {
        name: "SYNC",
        syntax: "SYNC <id> [state_vector]",
        summary: "what a replica is missing, and the server's state vector",
    },
    Entry {
        name: "MERGE",
        syntax: "MERGE <id> <update>",
        summary: "hand in a replica's edits",
    },
    Entry {
        name: "PRESENCE",
        syntax: "PRESENCE <id> [DATA <json>]",
        summary: "set or read presence",
    },
    Entry {
        name: "PING",
        syntax: "PING",
        summary: "health check",
    },
    Entry {
        name: "ECHO",
        syntax: "ECHO <message>",
        summary: "answer the message",
    },
    Entry {
        name: "KEYS",
        syntax: "KEYS [pattern]",
        summary: "list documents matching a glob",
    },
    Entry {
        name: "INFO",
        syntax: "INFO [section]",
        summary: "server information",
    },
    Entry {
        name: "QUIT",
        syntax: "QUIT",
        summary: "close the connection",
    },
];

/// The help text for `help` alone (every command) or `help <command>` (that one).
pub fn text(topic: Option<&str>) -> String {
    let width = COMMANDS.iter().map(|e| e.syntax.len()).max().unwrap_or(0);
    let row = |e: &Entry| format!("  {:width$}  {}\n", e.syntax, e.summary);
    match topic {
        Some(name) => match COMMANDS.iter().find(|e| e.name.eq_ignore_ascii_case(name)) {
            Some(entry) => row(entry),
            None => format!(
                "no help for {name:?}; `help` lists the commands (the server may still know it)\n"
            ),
        },
        None => {
            let mut out = String::from("Commands (sent to the server):\n");
            COMMANDS.iter().for_each(|e| out.push_str(&row(e)));
            out.push_str(concat!(
                "\nAt this prompt:\n",
                "  help [command]    this list, or one command\n",
                "  quit, exit        leave (Ctrl-D too)\n",
                "  Ctrl-C            stop a subscription stream or a waiting command\n",
                "\nValues are JSON; text that is not JSON is stored as a string. Quote words with\n",
                "spaces: SET user:1 name \"Alice Smith\". History: ~/.ussl_history or $USSL_HISTFILE.\n",
            ));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_command_with_its_syntax() {
        let all = text(None);
        for entry in COMMANDS {
            assert!(all.contains(entry.syntax), "{} missing", entry.name);
        }
        assert!(text(Some("set")).contains("SET <id> <path> <value>"));
        assert!(text(Some("nope")).starts_with("no help"));
    }
}
