/* The relay's exchange (relay_wire.h), shared by the library and the
 * relay: poll, then a non-blocking send or recv, until the message has
 * passed or its time is up. */
#include "relay_wire.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

int cr_relay_exchange(int fd, void *buf, size_t n, bool out, double deadline)
{
	size_t done = 0;
	while (done < n) {
		double left = deadline - cr_monotonic_now();
		if (left <= 0)
			return -2;
		struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		if (poll(&p, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!p.revents)
			continue;
		ssize_t k = out ? send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, (char *)buf + done, n - done, MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (k > 0)
			done += (size_t)k;
	}
	return 0;
}
