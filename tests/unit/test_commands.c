/*
** test_commands.c -- the command table's invariants (gdb's
** command-def-selftests): names sorted and unique, aliases unique, every
** usage starts with its name, every summary is one sentence ending in '.',
** no help text ends in a newline, every command is listed by help and
** documented in man/k2t.1.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../commands/shell.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

int main(void)
{
    FILE *f = fopen("man/k2t.1", "r");
    static char man[1 << 20];
    size_t n = f ? fread(man, 1, sizeof man - 1, f) : 0;
    man[n] = '\0';
    if (f) fclose(f);
    CHECK(n > 0, "man/k2t.1 is readable");

    k2t_shell sh;
    k2t_shell_init(&sh);
    char *help = NULL;
    size_t hl = 0;
    sh.out = open_memstream(&help, &hl);
    k2t_dispatch(&sh, "help");
    fclose(sh.out);

    for (int i = 0; i < k2t_n_commands; i++) {
        const k2t_command *c = k2t_commands[i];
        if (i > 0) CHECK(strcmp(k2t_commands[i - 1]->name, c->name) < 0, "commands sorted and unique at %s", c->name);
        CHECK(strncmp(c->usage, c->name, strlen(c->name)) == 0, "%s: usage starts with the name", c->name);
        size_t sl = strlen(c->summary);
        CHECK(sl > 1 && c->summary[sl - 1] == '.' && !strchr(c->summary, '\n'), "%s: summary is one sentence", c->name);
        CHECK(!c->help || !c->help[0] || c->help[strlen(c->help) - 1] != '\n', "%s: help has no trailing newline", c->name);
        CHECK(c->fn != NULL, "%s: has a function", c->name);
        if (c->flags & K2T_HIDDEN) continue;
        char line[128], manent[128];
        snprintf(line, sizeof line, "\n%s ", c->name);
        char *h = help ? strstr(help, line) : NULL;
        if (!h && help && strncmp(help, c->name, strlen(c->name)) == 0 && help[strlen(c->name)] == ' ') h = help;
        CHECK(h != NULL, "%s: listed by help, name first on its line", c->name);
        snprintf(manent, sizeof manent, "\n.B%s %s", strchr(c->usage, ' ') ? "I" : "", c->name);
        CHECK(strstr(man, manent) || strstr(man, (snprintf(manent, sizeof manent, ".BR %s", c->name), manent)) ||
              strstr(man, (snprintf(manent, sizeof manent, ".BI %s", c->name), manent)) ||
              strstr(man, (snprintf(manent, sizeof manent, ".B %s\n", c->name), manent)),
              "%s: documented in man/k2t.1 COMMANDS", c->name);
        /* aliases resolve to their command */
        if (c->aliases) {
            char why[256];
            char a[64];
            snprintf(a, sizeof a, "%.*s", (int)strcspn(c->aliases, " "), c->aliases);
            CHECK(k2t_command_find(a, why, sizeof why) == c, "%s: alias %s resolves", c->name, a);
        }
    }
    free(help);
    printf("%s - test_commands: %d checks\n", fails ? "not ok" : "ok", checks);
    return fails != 0;
}
