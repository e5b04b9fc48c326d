/* The floor of `connrefuse audit`'s cost: programs that do nothing on the
 * tracepoint the auditor uses, as tp_btf (the auditor's kind) and as a raw
 * tracepoint, and on the connects of the root cgroup (its UDP program's
 * hook), loaded by audit_floor.c. What a connect loop pays with these
 * attached is the price of the hooks alone. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(empty_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int empty_raw(void *ctx)
{
	return 0;
}

SEC("cgroup/connect4")
int empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}
