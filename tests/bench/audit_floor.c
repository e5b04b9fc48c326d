/* audit_floor OBJ PROGRAM: loads the one program PROGRAM of OBJ
 * (audit_floor.bpf.o), attaches it, says "watching" on stderr and holds it
 * until SIGTERM or SIGINT: the bench's floor for `connrefuse audit`. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: audit_floor OBJ PROGRAM\n");
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "audit_floor: cannot open %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *p, *want = NULL;
	bpf_object__for_each_program(p, obj)
	{
		if (strcmp(bpf_program__name(p), argv[2]) == 0)
			want = p;
		else
			bpf_program__set_autoload(p, false);
	}
	if (!want || bpf_object__load(obj) != 0) {
		fprintf(stderr, "audit_floor: cannot load %s from %s\n", argv[2], argv[1]);
		return 1;
	}
	struct bpf_link *link = bpf_program__attach(want);
	if (!link) {
		fprintf(stderr, "audit_floor: cannot attach %s\n", argv[2]);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "watching\n");
	while (!stop)
		pause();
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}
