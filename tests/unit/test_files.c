/* frontend/files.c: only regular files are opened (a FIFO, folder, device or /proc file
 * is refused at once, with a phrase naming what it is), ONNX external data stays inside
 * the model's folder whatever symlinks say, and an output that is one of the graph's
 * input files (by name, symlink or hard link) is refused. */
#include "frontend/files.h"

#include "support_fs.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *at(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s", fs_make_tmp());
}

static void teardown(void)
{
    fs_rm_tree(dir);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_regular_only)
{
    struct stat st;
    const char *why;
    put("a.bin", "abcd");
    int fd = fe_open_regular(at("a.bin"), &st, &why);
    ck_assert_int_ge(fd, 0);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(st.st_size, 4);
    char buf[8];
    ck_assert_int_eq(read(fd, buf, sizeof buf), 4); /* blocking again, reads as usual */
    close(fd);

    ck_assert_int_eq(fe_open_regular(at("missing.bin"), &st, &why), -1);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(errno, ENOENT);

    ck_assert_int_eq(fe_open_regular(dir, &st, &why), -1);
    ck_assert_str_eq(why, "is a directory, not a file");

    /* a FIFO with no writer: refused at once, never waited on */
    ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
    double t0 = now_s();
    ck_assert_int_eq(fe_open_regular(at("fifo"), &st, &why), -1);
    ck_assert_str_eq(why, "is not a regular file (a FIFO)");
    ck_assert(now_s() - t0 < 1.0);

    ck_assert_int_eq(fe_open_regular("/dev/null", &st, &why), -1);
    ck_assert_str_eq(why, "is not a regular file (a device)");
#ifdef __linux__
    ck_assert_int_eq(fe_open_regular("/proc/self/status", &st, &why), -1);
    ck_assert_str_eq(why, "is not a regular file (a /proc or /sys file)");
#endif
}
END_TEST

START_TEST(test_inside_the_folder)
{
    struct stat st;
    const char *why;
    ck_assert_int_eq(mkdir(at("model"), 0700), 0);
    ck_assert_int_eq(mkdir(at("outside"), 0700), 0);
    put("model/w.bin", "data");
    put("model/m.onnx", "");
    put("outside/secret", "key!");
    char m[512], folder[512];
    snprintf(m, sizeof m, "%s", at("model/m.onnx"));
    snprintf(folder, sizeof folder, "%s", at("model"));

    int fd = fe_open_inside(folder, m, "w.bin", &st, &why);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* a link that stays inside is followed */
    ck_assert_int_eq(symlink("w.bin", at("model/in.bin")), 0);
    fd = fe_open_inside(folder, m, "in.bin", &st, &why);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* links out: relative, absolute, through a folder link; and a dangling one */
    ck_assert_int_eq(symlink("../outside/secret", at("model/out.bin")), 0);
    ck_assert_int_eq(symlink(at("outside/secret"), at("model/abs.bin")), 0);
    ck_assert_int_eq(symlink("../outside", at("model/sub")), 0);
    ck_assert_int_eq(symlink("nothing", at("model/dangling.bin")), 0);
    const char *out[] = {"out.bin", "abs.bin", "sub/secret"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fe_open_inside(folder, m, out[i], &st, &why), -1);
        ck_assert_msg(why && strstr(why, "leads outside the model's folder"), "%s", out[i]);
    }
    ck_assert_int_eq(fe_open_inside(folder, m, "dangling.bin", &st, &why), -1);
    ck_assert_str_eq(why, "is a symbolic link that leads nowhere");
    ck_assert_int_eq(fe_open_inside(folder, m, "none.bin", &st, &why), -1);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(errno, ENOENT);
    /* inside, but a FIFO */
    ck_assert_int_eq(mkfifo(at("model/fifo.bin"), 0600), 0);
    ck_assert_int_eq(fe_open_inside(folder, m, "fifo.bin", &st, &why), -1);
    ck_assert_str_eq(why, "is not a regular file (a FIFO)");
}
END_TEST

/* The Hugging Face cache: snapshots/REV/{m.onnx,data} are links into blobs/. */
START_TEST(test_model_link_folder)
{
    struct stat st;
    const char *why;
    ck_assert_int_eq(mkdir(at("blobs"), 0700), 0);
    ck_assert_int_eq(mkdir(at("snap"), 0700), 0);
    put("blobs/aa", "");
    put("blobs/bb", "data");
    ck_assert_int_eq(symlink("../blobs/aa", at("snap/m.onnx")), 0);
    ck_assert_int_eq(symlink("../blobs/bb", at("snap/data")), 0);
    char folder[512];
    snprintf(folder, sizeof folder, "%s", at("snap"));
    int fd = fe_open_inside(folder, at("snap/m.onnx"), "data", &st, &why);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* a plain model file in snap/ does not reach blobs/ */
    put("snap/plain.onnx", "");
    ck_assert_int_eq(fe_open_inside(folder, at("snap/plain.onnx"), "data", &st, &why), -1);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_outputs_never_replace_inputs)
{
    put("m.slim", "model");
    put("other.slim", "model");
    ck_assert_int_eq(symlink("m.slim", at("link.slim")), 0);
    ck_assert_int_eq(link(at("m.slim"), at("hard.slim")), 0);
    Graph *g = ir_graph_new("m");
    fe_note_input_path(g, at("m.slim"));
    fe_note_input_path(g, at("m.slim")); /* once is enough */
    ck_assert_ptr_nonnull(g->files);
    ck_assert_ptr_null(g->files->next);
    Diag d;
    ir_diag_init(&d);
    const char *same[] = {"m.slim", "link.slim", "hard.slim"};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(!fe_check_output(g, at(same[i]), &d), "%s", same[i]);
        ck_assert_msg(strstr(ir_diag_text(&d), "is an input of this command"), "%s",
                      ir_diag_text(&d));
        ir_diag_clear(&d);
    }
    ck_assert(fe_check_output(g, at("other.slim"), &d));
    ck_assert(fe_check_output(g, at("new.slim"), &d));
    ck_assert_int_eq(d.n_errors, 0);
    /* a clone knows the same files */
    Graph *c = ir_graph_clone(g);
    ck_assert(!fe_check_output(c, at("link.slim"), &d));
    ir_graph_free(c);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_regular_only);
    tcase_add_test(tc, test_inside_the_folder);
    tcase_add_test(tc, test_model_link_folder);
    tcase_add_test(tc, test_outputs_never_replace_inputs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
