/*
** h5.h -- the few HDF5 reads the loader needs, with Keras's string quirks.
*/
#ifndef K2T_ENGINE_H5_H
#define K2T_ENGINE_H5_H

#include <hdf5.h>
#include "k2t.h"

/* Open 'path' read-only.  Distinguishes a missing file, a file that is not
** HDF5 and one HDF5 cannot read (truncated).  Returns a file id or -1. */
hid_t h5_open(const char *path, k2t_err *err);

/* Does attribute 'name' exist on 'obj'? */
int h5_has_attr(hid_t obj, const char *name);

/* A scalar string attribute of any encoding (fixed or variable length,
** ASCII or UTF-8), read with the attribute's own type.  *out is a
** malloc'ed string the caller frees, or NULL when the attribute is
** absent. */
k2t_status h5_attr_string(hid_t obj, const char *name, char **out, k2t_err *err);

/* A list-of-strings attribute as Keras writes it: 'name', or the chunked
** parts name0, name1, ... ; an empty float array is an empty list.
** *out is a malloc'ed array of malloc'ed strings (free with
** h5_strings_free); *n its length.  Absent: *n = 0 and *present = 0. */
k2t_status h5_attr_strings(hid_t obj, const char *name, char ***out, int *n,
                           int *present, k2t_err *err);
void h5_strings_free(char **v, int n);

/* Link (group) access property lists whose external-link callback refuses
** the traversal: pass them to H5Lexists / H5Gopen2 so that no other file
** is ever opened. */
hid_t h5_lapl(void);
hid_t h5_gapl(void);

/* Refuse a path under 'loc' any of whose components is an external (or
** user-defined) link, with a message that starts with 'what'.  K2T_OK
** when every existing component is a hard or soft link (a missing one is
** left for the caller to report). */
k2t_status h5_check_path(hid_t loc, const char *path, const char *what, k2t_err *err);

/* Does a link 'path' exist (every component) under 'loc'? */
int h5_exists(hid_t loc, const char *path);

/* Read dataset 'path' under 'loc' into w: shape, dtype name and data as
** float32 (malloc'ed).  Refuses non-float types, absurd sizes and
** datasets that hold no data.  'what' names the weight in messages. */
k2t_status h5_read_weight(hid_t loc, const char *path, k2t_weight *w,
                          const char *what, k2t_err *err);

/* The same checks without reading the data: w gets its shape, dtype and
** size, w->data stays NULL.  The loader checks every shape against the
** model's config first and reads the data only then. */
k2t_status h5_read_weight_meta(hid_t loc, const char *path, k2t_weight *w, const char *what, k2t_err *err);

#endif /* K2T_ENGINE_H5_H */
