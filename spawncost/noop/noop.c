/* noop is the smallest program the OS can spawn: built with gcc -static -O2
 * by forkbench/spawncost at run time, it measures process creation, exec and
 * reaping with no dynamic loader and no language runtime (the OS floor). */
int main(void) { return 0; }
