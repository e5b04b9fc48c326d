package connrefuse

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// An Option adds a key to a rule: its schedule, scope, log level or name.
type Option func(*rule)

type rule struct {
	name string
	keys []string
}

func (r *rule) add(format string, a ...interface{}) {
	r.keys = append(r.keys, fmt.Sprintf(format, a...))
}

// First fires the rule on its first n matching attempts, then never.
func First(n int) Option { return func(r *rule) { r.add("first = %d;", n) } }

// After fires the rule once n matching attempts have gone by.
func After(n int) Option { return func(r *rule) { r.add("after = %d;", n) } }

// Every fires the rule on every nth matching attempt.
func Every(n int) Option { return func(r *rule) { r.add("every = %d;", n) } }

// Probability fires the rule on that share of matching attempts (0 to 1).
func Probability(p float64) Option {
	return func(r *rule) { r.add("probability = %s;", strconv.FormatFloat(p, 'f', -1, 64)) }
}

// Scope is where the rule's attempts are counted: "run", "file" or
// "process" (default: "run" under connrefuse run).
func Scope(s string) Option { return func(r *rule) { r.add("scope = %s;", quote(s)) } }

// Log is the rule's log level: "none", "failures" or "all".
func Log(level string) Option { return func(r *rule) { r.add("log = %s;", quote(level)) } }

// Name names the rule (Fired and Attempts find it by name); the default
// is the destination as given.
func Name(n string) Option { return func(r *rule) { r.name = n } }

// quote makes s a libconfig string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// Rule is the text of one entry of rules = ( ... ): RULE-ACTION on dst
// ("127.0.0.1:5432", "[::1]:80", "10.0.0.0/8"), with its options.
func Rule(action, dst string, opts ...Option) string {
	r := &rule{name: dst}
	r.add("action = %s;", quote(action))
	return r.text(dst, opts)
}

// FailRule is the entry of a rule that fails connects to dst with errno.
func FailRule(dst string, errno syscall.Errno, opts ...Option) string {
	r := &rule{name: dst}
	r.add(`action = "fail";`)
	r.add("errno = %s;", quote(errnoName(errno)))
	return r.text(dst, opts)
}

func (r *rule) text(dst string, opts []Option) string {
	for _, o := range opts {
		o(r)
	}
	host, port, err := net.SplitHostPort(dst)
	if err != nil {
		host, port = dst, ""
	}
	s := fmt.Sprintf("{ name = %s; dst = %s; ", quote(r.name), quote(host))
	if port != "" {
		s += fmt.Sprintf("port = %s; ", port)
	}
	return s + strings.Join(r.keys, " ") + " }"
}

// The errnos a fail rule takes (connrefuse.cfg(5)), by number.
var errnos = map[syscall.Errno]string{
	syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ETIMEDOUT: "ETIMEDOUT", syscall.ENETUNREACH: "ENETUNREACH",
	syscall.EHOSTUNREACH: "EHOSTUNREACH", syscall.ECONNRESET: "ECONNRESET", syscall.EACCES: "EACCES",
	syscall.EPERM: "EPERM", syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.ENETDOWN: "ENETDOWN",
	syscall.EHOSTDOWN: "EHOSTDOWN", syscall.ECONNABORTED: "ECONNABORTED", syscall.EAGAIN: "EAGAIN",
	syscall.EINTR: "EINTR", syscall.ENOENT: "ENOENT",
}

// errnoName: the name connrefuse knows, or the number (which connrefuse
// refuses with a clear config error, reported by the reload).
func errnoName(e syscall.Errno) string {
	if n, ok := errnos[e]; ok {
		return n
	}
	return strconv.Itoa(int(e))
}

// wrap makes a whole rules file of entries, or takes text that is one.
func wrap(entries []string) string {
	if len(entries) == 1 && strings.Contains(entries[0], "version") {
		return entries[0]
	}
	return "version = 1;\nrules = (\n" + strings.Join(entries, ",\n") + "\n);\n"
}
