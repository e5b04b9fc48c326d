/* earlymain: needs libearly.so, whose constructor does the work. */
#include <stdio.h>

void early_linked(void);

int main(void)
{
	early_linked();
	printf("main\n");
	return 0;
}
