/*
** lesson.c -- the lessons a teacher runs in class: "lesson" lists them,
** "lesson 04" or "lesson padding" runs one, and "k2t --lesson 04" does the
** same from the command line.  They are found in k2t's data directory
** (paths.h): scripts/lessons/ in the source tree, share/k2t/lessons/ once
** installed, wherever k2t is started from.
*/
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

/* A lesson file is NN-name.k2t. */
static int lesson_name(const char *f)
{
    size_t n = strlen(f);
    return n > 7 && isdigit((unsigned char)f[0]) && isdigit((unsigned char)f[1]) && f[2] == '-' &&
           !strcmp(f + n - 4, ".k2t");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lesson files in dir, sorted (malloc'ed names). */
static void list_lessons(const char *dir, k2t_strlist *out)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)))
        if (lesson_name(e->d_name)) k2t_strlist_add(out, e->d_name);
    closedir(d);
    if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
}

/* The title of a lesson: its first comment line, "Lesson N: " dropped. */
static void lesson_title(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    char line[512];
    buf[0] = '\0';
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '#') continue;
        char *t = line + 1;
        t += strspn(t, " \t");
        t[strcspn(t, "\r\n")] = '\0';
        if (!strncmp(t, "Lesson ", 7)) {
            char *colon = strchr(t, ':');
            if (colon) t = colon + 1 + strspn(colon + 1, " ");
        }
        snprintf(buf, n, "%s", t);
        break;
    }
    fclose(f);
}

/*
** Find the lesson 'key' names: a number ("4", "04"), a file name
** ("04-padding", "04-padding.k2t") or a unique part of the names
** ("padding").  Writes its path; returns 0, or -1 with 'why' filled.
*/
static int lesson_find(const char *key, char *path, size_t n, char *why, size_t wn)
{
    const char *dir = k2t_lessons_dir();
    k2t_strlist l = {0};
    int found = -1, matches = 0;
    list_lessons(dir, &l);
    if (l.n == 0) {
        snprintf(why, wn, "no lessons found (looked in %s; set K2T_DATA to the directory holding lessons/)",
                 k2t_data_dir() ? k2t_data_dir() : "no data directory");
        k2t_strlist_free(&l);
        return -1;
    }
    char *end;
    long num = strtol(key, &end, 10);
    int numeric = *key && !*end;
    size_t kl = strlen(key);
    for (int i = 0; i < l.n && found < 0; i++) {
        const char *f = l.v[i];
        if ((numeric && atoi(f) == num) || !strcmp(f, key) ||
            (strlen(f) == kl + 4 && !strncmp(f, key, kl)))
            found = i, matches = 1;
    }
    if (found < 0 && !numeric)
        for (int i = 0; i < l.n; i++)
            if (strstr(l.v[i] + 3, key)) {
                if (matches++ == 0) found = i;
            }
    if (matches == 1) {
        snprintf(path, n, "%s/%s", dir, l.v[found]);
    } else {
        size_t w = (size_t)snprintf(why, wn, matches ? "'%s' names several lessons (" : "no lesson '%s' (the lessons: ", key);
        int listed = 0;
        for (int i = 0; i < l.n && w < wn; i++) {
            if (matches && !strstr(l.v[i] + 3, key)) continue;
            w += (size_t)snprintf(why + w, wn - w, "%s%.*s", listed++ ? ", " : "", (int)strlen(l.v[i]) - 4, l.v[i]);
        }
        if (w < wn) snprintf(why + w, wn - w, ")");
    }
    k2t_strlist_free(&l);
    return matches == 1 ? 0 : -1;
}

int k2t_lesson_run(k2t_shell *sh, const char *key)
{
    char path[PATH_MAX + 64], why[1024];
    if (lesson_find(key, path, sizeof path, why, sizeof why) != 0) return k2t_error(sh, 1, "lesson: %s", why);
    if (!sh->run_file) return k2t_error(sh, -1, "lesson: scripts cannot be run here");
    return sh->run_file(sh, path);
}

static int cmd_lesson(k2t_shell *sh, int argc, char **argv)
{
    if (argc > 1) return k2t_lesson_run(sh, argv[1]);
    const char *dir = k2t_lessons_dir();
    k2t_strlist l = {0};
    list_lessons(dir, &l);
    if (l.n == 0) {
        k2t_strlist_free(&l);
        return k2t_error(sh, -1, "lesson: no lessons found (looked in %s; set K2T_DATA to the directory "
                         "holding lessons/)", k2t_data_dir() ? k2t_data_dir() : "no data directory");
    }
    for (int i = 0; i < l.n; i++) {
        char path[PATH_MAX + 64], title[256];
        snprintf(path, sizeof path, "%s/%s", dir, l.v[i]);
        lesson_title(path, title, sizeof title);
        int nl = (int)strlen(l.v[i]) - 4;
        k2t_printf(sh, "%s%.2s%s  %-*.*s %s\n", k2t_c_bold(sh), l.v[i], k2t_c_off(sh), 20, nl - 3, l.v[i] + 3,
                   title);
    }
    k2t_printf(sh, "%s\"lesson N\" or \"lesson NAME\" runs one (k2t --lesson N from the shell); "
               "they are in %s%s\n", k2t_c_dim(sh), dir, k2t_c_off(sh));
    k2t_var_num(sh, "lessons", (double)l.n);
    k2t_strlist_free(&l);
    return K2T_CMD_OK;
}

static void complete_lesson(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi != 1) return;
    k2t_strlist l = {0};
    list_lessons(k2t_lessons_dir(), &l);
    size_t pl = strlen(prefix);
    for (int i = 0; i < l.n; i++) {
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)strlen(l.v[i]) - 7, l.v[i] + 3); /* the name */
        if (!strncmp(word, prefix, pl)) k2t_strlist_add(out, word);
        snprintf(word, sizeof word, "%.2s", l.v[i]);                            /* the number */
        if (!strncmp(word, prefix, pl)) k2t_strlist_add(out, word);
    }
    k2t_strlist_free(&l);
}

const k2t_command k2t_cmd_lesson = {
    .name = "lesson", .group = "script", .min_args = 0, .max_args = 1,
    .usage = "lesson [N|NAME]",
    .summary = "List the lessons with their titles, or run one (lesson 04, lesson padding).",
    .help = "Each lesson is a script that walks through one port pitfall on the demo model,\n"
            "pausing at a terminal (see pause); \"k2t --lesson N\" runs one from the shell.\n"
            "N is the lesson's number; NAME a unique part of its file name.  The lessons are\n"
            "in scripts/lessons/ of the source tree and in share/k2t/lessons/ once installed\n"
            "(or in lessons/ under $K2T_DATA); k2t finds them from wherever it is started.\n"
            "Listing sets $lessons.",
    .complete = complete_lesson, .fn = cmd_lesson,
};
