/* audit_floor OBJ PROGRAM[,PROGRAM] [CGROUP2]: loads the programs named of
 * OBJ (audit_floor.bpf.o), attaches them (one on a cgroup's connects to the
 * cgroup2 root CGROUP2, as the auditor's), says "watching" on stderr and holds
 * them until SIGTERM or SIGINT: the bench's floor for `connrefuse audit`. */
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: audit_floor OBJ PROGRAM[,PROGRAM] [CGROUP2]\n");
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "audit_floor: cannot open %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *p;
	int wanted = 0;
	bpf_object__for_each_program(p, obj)
	{
		/* (a name list of a comma-separated few: a match is a whole item) */
		const char *name = bpf_program__name(p), *at = strstr(argv[2], name);
		size_t n = strlen(name);
		bool want = at && (at == argv[2] || at[-1] == ',') && (at[n] == ',' || at[n] == '\0');
		bpf_program__set_autoload(p, want);
		wanted += want;
	}
	if (!wanted || bpf_object__load(obj) != 0) {
		fprintf(stderr, "audit_floor: cannot load %s from %s\n", argv[2], argv[1]);
		return 1;
	}
	struct bpf_link *links[4];
	int nlinks = 0;
	bpf_object__for_each_program(p, obj)
	{
		if (!bpf_program__autoload(p) || nlinks == 4)
			continue;
		struct bpf_link *link;
		if (bpf_program__type(p) == BPF_PROG_TYPE_CGROUP_SOCK_ADDR) {
			int cg = argc == 4 ? open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			link = cg < 0 ? NULL : bpf_program__attach_cgroup(p, cg);
			if (cg >= 0)
				close(cg);
		} else {
			link = bpf_program__attach(p);
		}
		if (!link) {
			fprintf(stderr, "audit_floor: cannot attach %s\n", bpf_program__name(p));
			return 1;
		}
		links[nlinks++] = link;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "watching\n");
	while (!stop)
		pause();
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	bpf_object__close(obj);
	return 0;
}
