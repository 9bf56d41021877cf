/*
** snapshot.h -- what "tui-snapshot --press KEYS" hands to the snapshot.
**
** The tui_snapshot hook's signature is fixed in shell.h; the keys to press
** before the screen is printed travel beside it.  commands/tui.c sets the
** pointer for the duration of the hook's call only (NULL otherwise);
** repl/tui_output.c reads it.
*/
#ifndef K2T_COMMANDS_SNAPSHOT_H
#define K2T_COMMANDS_SNAPSHOT_H

/* The keys as typed after --press: characters, and <left> <right> <up>
** <down> <tab> <enter> <esc> <pgup> <pgdn> <home> <end> for the others. */
extern const char *k2t_snapshot_press;

#endif
