/*
 * The error set: one value for each way an exchange can end other than
 * with its reply, with the word the log gives it and, for the first
 * ones, the one line the client is sent before the close.
 */
#include "fingerd.h"

static const struct {
	const char	*name;
	const char	*reply;
} errors[] = {
	[E_NONE]		= { "ok",		NULL },
	[E_QUERY_TOO_LONG]	= { "too-long",		"Query too long\r\n" },
	[E_QUERY_INVALID]	= { "invalid",		"Invalid query\r\n" },
	[E_FORWARDING_DENIED]	= { "forwarding-denied",
				    "Finger forwarding service denied\r\n" },
	[E_LIST_DENIED]		= { "list-denied",
				    "Finger online user list denied\r\n" },
	[E_NO_SUCH_USER]	= { "no-such-user",	"No such user\r\n" },
	[E_TOO_MANY_FROM_ADDRESS] = { "too-many-from-address",
				    "Too many connections from your address\r\n" },
	[E_TIMEOUT]		= { "timeout",		NULL },
	[E_CLIENT_GONE]		= { "client-gone",	NULL },
	[E_NO_QUERY]		= { "no-query",		NULL },
	[E_SERVER]		= { "server-error",	NULL },
	[E_EVICTED]		= { "evicted",		NULL },
	[E_BAD_PROXY]		= { "bad-proxy",	NULL },
};

/* The line sent to the client for this error, or NULL: only logged. */
const char *
error_reply(enum fingerd_error e)
{
	return errors[e].reply;
}

const char *
error_name(enum fingerd_error e)
{
	return errors[e].name;
}
