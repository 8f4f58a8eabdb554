/*
 * eseal-test-sm2-token.c — a PKCS#11 *TEST* token that signs SM2.
 *
 * FOR TESTS ONLY. NOT AN HSM: keys live in process memory (and, when
 * ESEAL_SM2_TOKEN_DIR is set, in PEM files there, mode 0600). It exists
 * because no installable PKCS#11 module signs SM2 (shared/spec/HSM.md §3),
 * so eseal's signer/pkcs11 backend needs something to talk to in CI.
 *
 * It implements the "0x8000 family" (Sansec/TASS/Koal) vendor numbers:
 *   0x80008001  SM2 key-pair generation (key type CKK 0x80000004, or
 *               CKK_EC with the SM2 curve OID in CKA_EC_PARAMS)
 *   0x80008100  CKM_SM3_SM2: message in, Z computed inside with the user
 *               ID 1234567812345678, e = SM3(Z||M), DER signature out
 *   0x80008104  CKM_SM2_SIGN: 32-byte e in, DER signature out
 *   0x80008105  the _NO_DER variant: 32-byte e in, r||s (64 bytes) out
 * and exactly the calls eseal's backend makes (see signer/pkcs11/ctx.go):
 * C_Initialize, C_Finalize, C_GetInfo, C_GetSlotList, C_GetTokenInfo,
 * C_GetMechanismList, C_GetMechanismInfo, C_OpenSession, C_CloseSession,
 * C_CloseAllSessions, C_GetSessionInfo, C_Login, C_Logout,
 * C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_GetAttributeValue,
 * C_GenerateKeyPair, C_DestroyObject, C_SignInit, C_Sign. Every other entry
 * returns CKR_FUNCTION_NOT_SUPPORTED.
 *
 * Environment (read at C_Initialize):
 *   ESEAL_SM2_TOKEN_LABEL  token label (default "eseal-sm2-test")
 *   ESEAL_SM2_TOKEN_PIN    user PIN (required; C_Login fails without it)
 *   ESEAL_SM2_TOKEN_DIR    optional: token keys are kept there as files,
 *                          and while a file named "removed" exists there the
 *                          token behaves as pulled out (CKR_DEVICE_REMOVED /
 *                          CKR_TOKEN_NOT_PRESENT; sessions and login lost,
 *                          object handles renumbered) — for recovery tests.
 *
 * Build: gcc -std=c11 -O2 -fPIC -shared -I<dir with pkcs11.h> \
 *            -o libeseal-test-sm2-token.so eseal-test-sm2-token.c -lcrypto -lpthread
 * (scripts/hsm/setup.sh does this with the headers of github.com/miekg/pkcs11.)
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define CK_PTR *
#define CK_DEFINE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

#define MECH_KEYGEN 0x80008001UL
#define MECH_SM3_SM2 0x80008100UL
#define MECH_SM2_SIGN 0x80008104UL
#define MECH_SM2_SIGN_RAW 0x80008105UL
#define CKK_SM2_SANSEC 0x80000004UL

#define MAX_OBJ 4096
#define MAX_SESS 512
#define SESSION_LIMIT 256
#define SLOT_ID 1
#define DER_MAX 72

static const unsigned char SM2_OID[] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};
static const char SM2_UID[] = "1234567812345678";

typedef struct {
	int used;
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE ktype;
	CK_BBOOL token, priv, sign;
	unsigned char label[256];
	CK_ULONG label_len;
	unsigned char id[128];
	CK_ULONG id_len;
	unsigned char point[65];
	EVP_PKEY *pkey; /* private key objects only */
	int owner;      /* session index + 1 for session objects, 0 for token objects */
	char file[256];  /* persisted private key file name, "" if none */
} obj_t;

typedef struct {
	int used;
	CK_FLAGS flags;
	int finding;
	CK_OBJECT_HANDLE *found;
	CK_ULONG nfound, pos;
	int signing;
	CK_MECHANISM_TYPE mech;
	int key; /* object index */
} sess_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized, logged_in, removed_state, loaded;
static unsigned long epoch = 1;
static char tok_label[33] = "eseal-sm2-test";
static char tok_pin[65];
static int have_pin;
static char tok_dir[512];
static obj_t objs[MAX_OBJ];
static sess_t sess[MAX_SESS];

/* Handles carry the epoch so that a simulated removal invalidates them. */
static CK_ULONG mkhandle(int idx) { return (epoch << 16) | (CK_ULONG)(idx + 1); }
static int obj_index(CK_OBJECT_HANDLE h)
{
	int i = (int)(h & 0xffff) - 1;
	if ((h >> 16) != epoch || i < 0 || i >= MAX_OBJ || !objs[i].used) return -1;
	if (objs[i].priv && !logged_in) return -1; /* private objects are invisible */
	return i;
}
static int sess_index(CK_SESSION_HANDLE h)
{
	int i = (int)(h & 0xffff) - 1;
	if ((h >> 16) != epoch || i < 0 || i >= MAX_SESS || !sess[i].used) return -1;
	return i;
}

static void free_obj(int i)
{
	if (objs[i].pkey) EVP_PKEY_free(objs[i].pkey);
	memset(&objs[i], 0, sizeof objs[i]);
}

static void close_sess(int i)
{
	free(sess[i].found);
	memset(&sess[i], 0, sizeof sess[i]);
	for (int j = 0; j < MAX_OBJ; j++)
		if (objs[j].used && objs[j].owner == i + 1) free_obj(j);
}

static int open_sessions(void)
{
	int n = 0;
	for (int i = 0; i < MAX_SESS; i++) n += sess[i].used;
	return n;
}

static void close_all(void)
{
	for (int i = 0; i < MAX_SESS; i++)
		if (sess[i].used) close_sess(i);
	logged_in = 0;
}

/* Simulated removal: while DIR/removed exists the token is gone. */
static int removed(void)
{
	char p[600];
	if (!tok_dir[0]) return 0;
	snprintf(p, sizeof p, "%s/removed", tok_dir);
	if (access(p, F_OK) == 0) {
		if (!removed_state) {
			close_all();
			epoch++;
			removed_state = 1;
		}
		return 1;
	}
	removed_state = 0;
	return 0;
}

static int new_obj(void)
{
	for (int i = 0; i < MAX_OBJ; i++)
		if (!objs[i].used) {
			memset(&objs[i], 0, sizeof objs[i]);
			objs[i].used = 1;
			return i;
		}
	return -1;
}

static int pubpoint(EVP_PKEY *k, unsigned char out[65])
{
	size_t len = 0;
	if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &len) || len != 65 || out[0] != 4)
		return 0;
	return 1;
}

/* Make the public/private object pair for key k. */
static int add_pair(EVP_PKEY *k, CK_KEY_TYPE kt, CK_BBOOL token, const unsigned char *label, CK_ULONG llen,
		    const unsigned char *id, CK_ULONG idlen, int owner, int *pub, int *prv)
{
	unsigned char pt[65];
	if (llen > sizeof objs[0].label || idlen > sizeof objs[0].id || !pubpoint(k, pt)) return 0;
	int a = new_obj();
	if (a < 0) return 0;
	int b = new_obj();
	if (b < 0) {
		objs[a].used = 0;
		return 0;
	}
	for (int n = 0; n < 2; n++) {
		obj_t *o = &objs[n ? b : a];
		o->cls = n ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
		o->ktype = kt;
		o->token = token;
		o->priv = n ? CK_TRUE : CK_FALSE;
		o->sign = n ? CK_TRUE : CK_FALSE;
		memcpy(o->label, label, llen);
		o->label_len = llen;
		memcpy(o->id, id, idlen);
		o->id_len = idlen;
		memcpy(o->point, pt, 65);
		o->owner = token ? 0 : owner;
	}
	objs[b].pkey = k;
	*pub = a;
	*prv = b;
	return 1;
}

static void hex(char *dst, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) sprintf(dst + 2 * i, "%02x", s[i]);
	dst[2 * n] = 0;
}

static int unhex(unsigned char *dst, size_t max, const char *s, CK_ULONG *n)
{
	size_t l = strlen(s);
	if (l % 2 || l / 2 > max) return 0;
	for (size_t i = 0; i < l / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
		dst[i] = (unsigned char)v;
	}
	*n = (CK_ULONG)(l / 2);
	return 1;
}

/* Persist a token key as DIR/key-<pid>-<n>.pem: "label <hex>\nid <hex>\nktype <n>\n" + PEM.
 * The file is created exclusively: the counter starts again whenever the module is loaded
 * anew in the same process, and must never overwrite a key persisted before. */
static void persist(int prv)
{
	static unsigned long seq;
	obj_t *o = &objs[prv];
	if (!tok_dir[0]) return;
	char path[800], lh[600], ih[300];
	int fd = -1;
	for (int tries = 0; tries < 1000000 && fd < 0; tries++) {
		snprintf(o->file, sizeof o->file, "key-%ld-%lu.pem", (long)getpid(), ++seq);
		snprintf(path, sizeof path, "%s/%s", tok_dir, o->file);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno != EEXIST) break;
	}
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0) close(fd);
		o->file[0] = 0;
		return;
	}
	hex(lh, o->label, o->label_len);
	hex(ih, o->id, o->id_len);
	fprintf(f, "label %s\nid %s\nktype %lu\n", lh, ih, (unsigned long)o->ktype);
	PEM_write_PrivateKey(f, o->pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static void load_dir(void)
{
	DIR *d;
	struct dirent *e;
	if (!tok_dir[0] || !(d = opendir(tok_dir))) return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "key-", 4) != 0) continue;
		char path[800], lh[600], ih[300];
		unsigned long kt;
		unsigned char label[256], id[128];
		CK_ULONG ll, il;
		snprintf(path, sizeof path, "%s/%s", tok_dir, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f) continue;
		EVP_PKEY *k = NULL;
		if (fscanf(f, "label %599s\nid %299s\nktype %lu\n", lh, ih, &kt) == 3 && unhex(label, sizeof label, lh, &ll) &&
		    unhex(id, sizeof id, ih, &il))
			k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		int a, b;
		if (k && add_pair(k, kt, CK_TRUE, label, ll, id, il, 0, &a, &b))
			snprintf(objs[b].file, sizeof objs[b].file, "%s", e->d_name);
		else if (k)
			EVP_PKEY_free(k);
	}
	closedir(d);
}

#define LOCK() pthread_mutex_lock(&mu)
#define UNLOCK() pthread_mutex_unlock(&mu)
#define RET(rv)              \
	do {                 \
		UNLOCK();    \
		return (rv); \
	} while (0)
#define NEED_INIT() \
	if (!initialized) RET(CKR_CRYPTOKI_NOT_INITIALIZED)

static void pad(CK_UTF8CHAR *dst, size_t n, const char *s)
{
	memset(dst, ' ', n);
	size_t l = strlen(s);
	memcpy(dst, s, l < n ? l : n);
}

static CK_RV tok_Initialize(CK_VOID_PTR args)
{
	LOCK();
	if (initialized) RET(CKR_CRYPTOKI_ALREADY_INITIALIZED);
	if (args) {
		CK_C_INITIALIZE_ARGS *a = args;
		if (a->pReserved) RET(CKR_ARGUMENTS_BAD);
		if (a->CreateMutex && !(a->flags & CKF_OS_LOCKING_OK)) RET(CKR_CANT_LOCK);
	}
	const char *v = getenv("ESEAL_SM2_TOKEN_LABEL");
	if (v && *v) snprintf(tok_label, sizeof tok_label, "%s", v);
	v = getenv("ESEAL_SM2_TOKEN_PIN");
	have_pin = v && *v && strlen(v) < sizeof tok_pin;
	if (have_pin) snprintf(tok_pin, sizeof tok_pin, "%s", v);
	v = getenv("ESEAL_SM2_TOKEN_DIR");
	tok_dir[0] = 0;
	if (v && *v && strlen(v) < sizeof tok_dir) snprintf(tok_dir, sizeof tok_dir, "%s", v);
	if (!loaded) {
		load_dir();
		loaded = 1;
	}
	initialized = 1;
	RET(CKR_OK);
}

static CK_RV tok_Finalize(CK_VOID_PTR reserved)
{
	LOCK();
	if (reserved) RET(CKR_ARGUMENTS_BAD);
	NEED_INIT();
	close_all();
	epoch++;
	initialized = 0;
	RET(CKR_OK);
}

static CK_RV tok_GetInfo(CK_INFO_PTR info)
{
	LOCK();
	NEED_INIT();
	if (!info) RET(CKR_ARGUMENTS_BAD);
	memset(info, 0, sizeof *info);
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	pad(info->manufacturerID, 32, "eseal TEST token - NOT AN HSM");
	pad(info->libraryDescription, 32, "eseal SM2 PKCS#11 test token");
	info->libraryVersion.major = 1;
	RET(CKR_OK);
}

static CK_RV tok_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	LOCK();
	NEED_INIT();
	if (!count) RET(CKR_ARGUMENTS_BAD);
	CK_ULONG n = (present && removed()) ? 0 : 1;
	if (!list) {
		*count = n;
		RET(CKR_OK);
	}
	if (*count < n) {
		*count = n;
		RET(CKR_BUFFER_TOO_SMALL);
	}
	if (n) list[0] = SLOT_ID;
	*count = n;
	RET(CKR_OK);
}

static CK_RV tok_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
	LOCK();
	NEED_INIT();
	if (slot != SLOT_ID) RET(CKR_SLOT_ID_INVALID);
	if (!ti) RET(CKR_ARGUMENTS_BAD);
	if (removed()) RET(CKR_TOKEN_NOT_PRESENT);
	memset(ti, 0, sizeof *ti);
	pad(ti->label, 32, tok_label);
	pad(ti->manufacturerID, 32, "eseal TEST token - NOT AN HSM");
	pad(ti->model, 16, "sm2-test-token");
	pad(ti->serialNumber, 16, "0001");
	ti->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
	ti->ulMaxSessionCount = SESSION_LIMIT;
	ti->ulMaxRwSessionCount = SESSION_LIMIT;
	ti->ulSessionCount = ti->ulRwSessionCount = (CK_ULONG)open_sessions();
	ti->ulMaxPinLen = 64;
	ti->ulMinPinLen = 4;
	ti->ulTotalPublicMemory = ti->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	ti->ulTotalPrivateMemory = ti->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	ti->hardwareVersion.major = ti->firmwareVersion.major = 1;
	pad(ti->utcTime, 16, "");
	RET(CKR_OK);
}

static const CK_MECHANISM_TYPE mechs[] = {MECH_KEYGEN, MECH_SM3_SM2, MECH_SM2_SIGN, MECH_SM2_SIGN_RAW};

static CK_RV tok_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	LOCK();
	NEED_INIT();
	if (slot != SLOT_ID) RET(CKR_SLOT_ID_INVALID);
	if (!count) RET(CKR_ARGUMENTS_BAD);
	CK_ULONG n = sizeof mechs / sizeof mechs[0];
	if (!list) {
		*count = n;
		RET(CKR_OK);
	}
	if (*count < n) {
		*count = n;
		RET(CKR_BUFFER_TOO_SMALL);
	}
	memcpy(list, mechs, sizeof mechs);
	*count = n;
	RET(CKR_OK);
}

static CK_RV tok_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info)
{
	LOCK();
	NEED_INIT();
	if (slot != SLOT_ID) RET(CKR_SLOT_ID_INVALID);
	if (!info) RET(CKR_ARGUMENTS_BAD);
	info->ulMinKeySize = info->ulMaxKeySize = 256;
	switch (m) {
	case MECH_KEYGEN: info->flags = CKF_GENERATE_KEY_PAIR; break;
	case MECH_SM3_SM2:
	case MECH_SM2_SIGN:
	case MECH_SM2_SIGN_RAW: info->flags = CKF_SIGN; break;
	default: RET(CKR_MECHANISM_INVALID);
	}
	RET(CKR_OK);
}

static CK_RV tok_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR h)
{
	(void)app;
	(void)notify;
	LOCK();
	NEED_INIT();
	if (slot != SLOT_ID) RET(CKR_SLOT_ID_INVALID);
	if (!h) RET(CKR_ARGUMENTS_BAD);
	if (!(flags & CKF_SERIAL_SESSION)) RET(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	if (removed()) RET(CKR_TOKEN_NOT_PRESENT);
	if (open_sessions() >= SESSION_LIMIT) RET(CKR_SESSION_COUNT);
	for (int i = 0; i < MAX_SESS; i++)
		if (!sess[i].used) {
			memset(&sess[i], 0, sizeof sess[i]);
			sess[i].used = 1;
			sess[i].flags = flags;
			*h = mkhandle(i);
			RET(CKR_OK);
		}
	RET(CKR_SESSION_COUNT);
}

#define SESSION(var, h)                                \
	NEED_INIT();                                   \
	if (removed()) RET(CKR_DEVICE_REMOVED);        \
	int var = sess_index(h);                       \
	if (var < 0) RET(CKR_SESSION_HANDLE_INVALID);

static CK_RV tok_CloseSession(CK_SESSION_HANDLE h)
{
	LOCK();
	SESSION(i, h);
	close_sess(i);
	if (open_sessions() == 0) logged_in = 0; /* closing the last session logs out */
	RET(CKR_OK);
}

static CK_RV tok_CloseAllSessions(CK_SLOT_ID slot)
{
	LOCK();
	NEED_INIT();
	if (slot != SLOT_ID) RET(CKR_SLOT_ID_INVALID);
	close_all();
	RET(CKR_OK);
}

static CK_RV tok_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	LOCK();
	SESSION(i, h);
	if (!info) RET(CKR_ARGUMENTS_BAD);
	int rw = (sess[i].flags & CKF_RW_SESSION) != 0;
	info->slotID = SLOT_ID;
	info->state = logged_in ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
				: (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
	info->flags = sess[i].flags;
	info->ulDeviceError = 0;
	RET(CKR_OK);
}

static CK_RV tok_Login(CK_SESSION_HANDLE h, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	LOCK();
	SESSION(i, h);
	(void)i;
	if (ut != CKU_USER) RET(CKR_USER_TYPE_INVALID);
	if (logged_in) RET(CKR_USER_ALREADY_LOGGED_IN);
	if (!pin && len) RET(CKR_ARGUMENTS_BAD);
	if (!have_pin || len != strlen(tok_pin) || memcmp(pin, tok_pin, len) != 0) RET(CKR_PIN_INCORRECT);
	logged_in = 1;
	RET(CKR_OK);
}

static CK_RV tok_Logout(CK_SESSION_HANDLE h)
{
	LOCK();
	SESSION(i, h);
	(void)i;
	if (!logged_in) RET(CKR_USER_NOT_LOGGED_IN);
	logged_in = 0;
	RET(CKR_OK);
}

static int attr_ulong(CK_ATTRIBUTE_PTR a, CK_ULONG *v)
{
	if (a->ulValueLen != sizeof(CK_ULONG) || !a->pValue) return 0;
	memcpy(v, a->pValue, sizeof *v);
	return 1;
}
static int attr_bool(CK_ATTRIBUTE_PTR a, CK_BBOOL *v)
{
	if (a->ulValueLen != sizeof(CK_BBOOL) || !a->pValue) return 0;
	*v = *(CK_BBOOL *)a->pValue ? CK_TRUE : CK_FALSE;
	return 1;
}

static int matches(const obj_t *o, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	for (CK_ULONG k = 0; k < n; k++) {
		CK_ULONG u;
		CK_BBOOL b;
		if (t[k].ulValueLen && !t[k].pValue) return 0;
		switch (t[k].type) {
		case CKA_CLASS:
			if (!attr_ulong(&t[k], &u) || u != o->cls) return 0;
			break;
		case CKA_KEY_TYPE:
			if (!attr_ulong(&t[k], &u) || u != o->ktype) return 0;
			break;
		case CKA_TOKEN:
			if (!attr_bool(&t[k], &b) || b != o->token) return 0;
			break;
		case CKA_PRIVATE:
			if (!attr_bool(&t[k], &b) || b != o->priv) return 0;
			break;
		case CKA_LABEL:
			if (t[k].ulValueLen != o->label_len || (o->label_len && memcmp(t[k].pValue, o->label, o->label_len)))
				return 0;
			break;
		case CKA_ID:
			if (t[k].ulValueLen != o->id_len || (o->id_len && memcmp(t[k].pValue, o->id, o->id_len))) return 0;
			break;
		default: return 0; /* attributes we do not keep match nothing */
		}
	}
	return 1;
}

static CK_RV tok_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	LOCK();
	SESSION(i, h);
	if (n && !t) RET(CKR_ARGUMENTS_BAD);
	if (sess[i].finding) RET(CKR_OPERATION_ACTIVE);
	sess[i].found = calloc(MAX_OBJ, sizeof(CK_OBJECT_HANDLE));
	if (!sess[i].found) RET(CKR_HOST_MEMORY);
	sess[i].nfound = sess[i].pos = 0;
	for (int j = 0; j < MAX_OBJ; j++)
		if (objs[j].used && (!objs[j].priv || logged_in) && matches(&objs[j], t, n))
			sess[i].found[sess[i].nfound++] = mkhandle(j);
	sess[i].finding = 1;
	RET(CKR_OK);
}

static CK_RV tok_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count)
{
	LOCK();
	SESSION(i, h);
	if (!out || !count) RET(CKR_ARGUMENTS_BAD);
	if (!sess[i].finding) RET(CKR_OPERATION_NOT_INITIALIZED);
	CK_ULONG k = 0;
	while (k < max && sess[i].pos < sess[i].nfound) out[k++] = sess[i].found[sess[i].pos++];
	*count = k;
	RET(CKR_OK);
}

static CK_RV tok_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	LOCK();
	SESSION(i, h);
	if (!sess[i].finding) RET(CKR_OPERATION_NOT_INITIALIZED);
	free(sess[i].found);
	sess[i].found = NULL;
	sess[i].finding = 0;
	RET(CKR_OK);
}

/* copy one attribute value following the C_GetAttributeValue rules */
static CK_RV put(CK_ATTRIBUTE_PTR a, const void *v, CK_ULONG len)
{
	if (!a->pValue) {
		a->ulValueLen = len;
		return CKR_OK;
	}
	if (a->ulValueLen < len) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(a->pValue, v, len);
	a->ulValueLen = len;
	return CKR_OK;
}

static CK_RV tok_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	LOCK();
	SESSION(i, h);
	(void)i;
	int j = obj_index(oh);
	if (j < 0) RET(CKR_OBJECT_HANDLE_INVALID);
	if (n && !t) RET(CKR_ARGUMENTS_BAD);
	obj_t *o = &objs[j];
	CK_RV rv = CKR_OK;
	for (CK_ULONG k = 0; k < n; k++) {
		CK_RV r = CKR_OK;
		CK_BBOOL b;
		unsigned char ecp[67];
		switch (t[k].type) {
		case CKA_CLASS: r = put(&t[k], &o->cls, sizeof o->cls); break;
		case CKA_KEY_TYPE: r = put(&t[k], &o->ktype, sizeof o->ktype); break;
		case CKA_TOKEN: r = put(&t[k], &o->token, 1); break;
		case CKA_PRIVATE: r = put(&t[k], &o->priv, 1); break;
		case CKA_SIGN: r = put(&t[k], &o->sign, 1); break;
		case CKA_VERIFY:
			b = o->cls == CKO_PUBLIC_KEY;
			r = put(&t[k], &b, 1);
			break;
		case CKA_SENSITIVE:
		case CKA_ALWAYS_SENSITIVE:
			b = o->cls == CKO_PRIVATE_KEY;
			r = put(&t[k], &b, 1);
			break;
		case CKA_EXTRACTABLE:
			b = CK_FALSE;
			r = put(&t[k], &b, 1);
			break;
		case CKA_LABEL: r = put(&t[k], o->label, o->label_len); break;
		case CKA_ID: r = put(&t[k], o->id, o->id_len); break;
		case CKA_EC_PARAMS: r = put(&t[k], SM2_OID, sizeof SM2_OID); break;
		case CKA_EC_POINT: /* DER OCTET STRING around the uncompressed point */
			ecp[0] = 0x04;
			ecp[1] = 65;
			memcpy(ecp + 2, o->point, 65);
			r = put(&t[k], ecp, sizeof ecp);
			break;
		case CKA_VALUE:
			if (o->cls == CKO_PRIVATE_KEY) {
				t[k].ulValueLen = CK_UNAVAILABLE_INFORMATION;
				r = CKR_ATTRIBUTE_SENSITIVE;
				break;
			}
			/* fall through */
		default:
			t[k].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			r = CKR_ATTRIBUTE_TYPE_INVALID;
		}
		if (r != CKR_OK && rv == CKR_OK) rv = r;
	}
	RET(rv);
}

static CK_RV tok_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
				 CK_ATTRIBUTE_PTR st, CK_ULONG sn, CK_OBJECT_HANDLE_PTR ph, CK_OBJECT_HANDLE_PTR sh)
{
	LOCK();
	SESSION(i, h);
	if (!m || !ph || !sh || (pn && !pt) || (sn && !st)) RET(CKR_ARGUMENTS_BAD);
	if (m->mechanism != MECH_KEYGEN) RET(CKR_MECHANISM_INVALID);
	if (m->pParameter || m->ulParameterLen) RET(CKR_MECHANISM_PARAM_INVALID);
	if (!logged_in) RET(CKR_USER_NOT_LOGGED_IN);
	CK_BBOOL token = CK_FALSE;
	CK_KEY_TYPE kt = CKK_SM2_SANSEC;
	const unsigned char *label = NULL, *id = NULL;
	CK_ULONG llen = 0, idlen = 0;
	int have_params = 0;
	for (int side = 0; side < 2; side++) {
		CK_ATTRIBUTE_PTR t = side ? st : pt;
		CK_ULONG n = side ? sn : pn;
		for (CK_ULONG k = 0; k < n; k++) {
			CK_ULONG u;
			CK_BBOOL b;
			if (t[k].ulValueLen && !t[k].pValue) RET(CKR_ATTRIBUTE_VALUE_INVALID);
			switch (t[k].type) {
			case CKA_CLASS:
				if (!attr_ulong(&t[k], &u) || u != (side ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY))
					RET(CKR_TEMPLATE_INCONSISTENT);
				break;
			case CKA_KEY_TYPE:
				if (!attr_ulong(&t[k], &u) || (u != CKK_SM2_SANSEC && u != CKK_EC)) RET(CKR_TEMPLATE_INCONSISTENT);
				kt = u;
				break;
			case CKA_TOKEN:
				if (!attr_bool(&t[k], &b)) RET(CKR_ATTRIBUTE_VALUE_INVALID);
				if (b) token = CK_TRUE;
				break;
			case CKA_EC_PARAMS:
				if (t[k].ulValueLen != sizeof SM2_OID || memcmp(t[k].pValue, SM2_OID, sizeof SM2_OID))
					RET(CKR_CURVE_NOT_SUPPORTED);
				have_params = 1;
				break;
			case CKA_LABEL:
				if (t[k].ulValueLen > sizeof objs[0].label) RET(CKR_ATTRIBUTE_VALUE_INVALID);
				label = t[k].pValue;
				llen = t[k].ulValueLen;
				break;
			case CKA_ID:
				if (t[k].ulValueLen > sizeof objs[0].id) RET(CKR_ATTRIBUTE_VALUE_INVALID);
				id = t[k].pValue;
				idlen = t[k].ulValueLen;
				break;
			case CKA_PRIVATE:
			case CKA_SENSITIVE:
			case CKA_EXTRACTABLE:
			case CKA_SIGN:
			case CKA_VERIFY:
				if (!attr_bool(&t[k], &b)) RET(CKR_ATTRIBUTE_VALUE_INVALID);
				break;
			default: RET(CKR_ATTRIBUTE_TYPE_INVALID);
			}
		}
	}
	if (kt == CKK_EC && !have_params) RET(CKR_TEMPLATE_INCOMPLETE);
	if (token && !(sess[i].flags & CKF_RW_SESSION)) RET(CKR_SESSION_READ_ONLY);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	if (!k) RET(CKR_DEVICE_ERROR);
	int a, b;
	if (!add_pair(k, kt, token, label ? label : (const unsigned char *)"", llen, id ? id : (const unsigned char *)"",
		      idlen, i + 1, &a, &b)) {
		EVP_PKEY_free(k);
		RET(CKR_DEVICE_MEMORY);
	}
	if (token) persist(b);
	*ph = mkhandle(a);
	*sh = mkhandle(b);
	RET(CKR_OK);
}

static CK_RV tok_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
	LOCK();
	SESSION(i, h);
	(void)i;
	int j = obj_index(oh);
	if (j < 0) RET(CKR_OBJECT_HANDLE_INVALID);
	if (objs[j].file[0]) {
		char path[800];
		snprintf(path, sizeof path, "%s/%s", tok_dir, objs[j].file);
		unlink(path);
	}
	for (int s = 0; s < MAX_SESS; s++) /* end sign operations on the key */
		if (sess[s].used && sess[s].signing && sess[s].key == j) sess[s].signing = 0;
	free_obj(j);
	RET(CKR_OK);
}

static CK_RV tok_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	LOCK();
	SESSION(i, h);
	if (!m) RET(CKR_ARGUMENTS_BAD);
	if (sess[i].signing) RET(CKR_OPERATION_ACTIVE);
	if (m->mechanism != MECH_SM3_SM2 && m->mechanism != MECH_SM2_SIGN && m->mechanism != MECH_SM2_SIGN_RAW)
		RET(CKR_MECHANISM_INVALID);
	if (m->pParameter || m->ulParameterLen) RET(CKR_MECHANISM_PARAM_INVALID);
	int raw = (int)(key & 0xffff) - 1;
	if ((key >> 16) == epoch && raw >= 0 && raw < MAX_OBJ && objs[raw].used && objs[raw].priv && !logged_in)
		RET(CKR_USER_NOT_LOGGED_IN);
	int j = obj_index(key);
	if (j < 0) RET(CKR_KEY_HANDLE_INVALID);
	if (objs[j].cls != CKO_PRIVATE_KEY || !objs[j].pkey) RET(CKR_KEY_TYPE_INCONSISTENT);
	if (!objs[j].sign) RET(CKR_KEY_FUNCTION_NOT_PERMITTED);
	sess[i].signing = 1;
	sess[i].mech = m->mechanism;
	sess[i].key = j;
	RET(CKR_OK);
}

static int sign_with(EVP_PKEY *k, CK_MECHANISM_TYPE mech, const unsigned char *in, size_t inlen, unsigned char *der,
		     size_t *derlen)
{
	int ok = 0;
	if (mech == MECH_SM3_SM2) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
		if (md && pc && EVP_PKEY_CTX_set1_id(pc, SM2_UID, strlen(SM2_UID)) > 0) {
			EVP_MD_CTX_set_pkey_ctx(md, pc);
			ok = EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, k) > 0 &&
			     EVP_DigestSign(md, der, derlen, in, inlen) > 0;
		}
		EVP_MD_CTX_free(md);
		EVP_PKEY_CTX_free(pc);
	} else {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
		ok = pc && EVP_PKEY_sign_init(pc) > 0 && EVP_PKEY_sign(pc, der, derlen, in, inlen) > 0;
		EVP_PKEY_CTX_free(pc);
	}
	return ok;
}

static int der_to_raw(const unsigned char *der, size_t len, unsigned char out[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!s) return 0;
	const BIGNUM *r, *ss;
	ECDSA_SIG_get0(s, &r, &ss);
	int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(ss, out + 32, 32) == 32;
	ECDSA_SIG_free(s);
	return ok;
}

static CK_RV tok_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	LOCK();
	SESSION(i, h);
	if (!siglen || (len && !data)) RET(CKR_ARGUMENTS_BAD);
	if (!sess[i].signing) RET(CKR_OPERATION_NOT_INITIALIZED);
	CK_MECHANISM_TYPE mech = sess[i].mech;
	CK_ULONG need = mech == MECH_SM2_SIGN_RAW ? 64 : DER_MAX;
	if (!sig) { /* length query: the operation stays active */
		*siglen = need;
		RET(CKR_OK);
	}
	if (*siglen < need) {
		*siglen = need;
		RET(CKR_BUFFER_TOO_SMALL);
	}
	sess[i].signing = 0; /* C_Sign ends the operation, whatever the outcome */
	if (mech != MECH_SM3_SM2 && len != 32) RET(CKR_DATA_LEN_RANGE);
	EVP_PKEY *k = objs[sess[i].key].pkey;
	if (!k) RET(CKR_KEY_HANDLE_INVALID);
	EVP_PKEY_up_ref(k);
	UNLOCK(); /* sign outside the lock; the session is this caller's alone */
	unsigned char der[DER_MAX + 8];
	size_t dl = sizeof der;
	int ok = sign_with(k, mech, data, len, der, &dl);
	EVP_PKEY_free(k);
	if (!ok) return CKR_FUNCTION_FAILED;
	if (mech == MECH_SM2_SIGN_RAW) {
		if (!der_to_raw(der, dl, sig)) return CKR_FUNCTION_FAILED;
		*siglen = 64;
	} else {
		memcpy(sig, der, dl);
		*siglen = dl;
	}
	return CKR_OK;
}

/* Every entry not implemented above. Called through a pointer of another
 * type: fine for the SysV ABI this test token is built for. */
static CK_RV not_supported(void) { return CKR_FUNCTION_NOT_SUPPORTED; }

static CK_FUNCTION_LIST flist;

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp) __attribute__((visibility("default")));
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	if (!pp) return CKR_ARGUMENTS_BAD;
	LOCK();
	if (flist.version.major == 0) {
		/* fill every slot after the version with the stub, then the calls we implement */
		void (**slots)(void) = (void (**)(void))((char *)&flist + offsetof(CK_FUNCTION_LIST, C_Initialize));
		size_t n = (sizeof flist - offsetof(CK_FUNCTION_LIST, C_Initialize)) / sizeof(void (*)(void));
		for (size_t k = 0; k < n; k++) slots[k] = (void (*)(void))not_supported;
		flist.C_Initialize = tok_Initialize;
		flist.C_Finalize = tok_Finalize;
		flist.C_GetInfo = tok_GetInfo;
		flist.C_GetFunctionList = C_GetFunctionList;
		flist.C_GetSlotList = tok_GetSlotList;
		flist.C_GetTokenInfo = tok_GetTokenInfo;
		flist.C_GetMechanismList = tok_GetMechanismList;
		flist.C_GetMechanismInfo = tok_GetMechanismInfo;
		flist.C_OpenSession = tok_OpenSession;
		flist.C_CloseSession = tok_CloseSession;
		flist.C_CloseAllSessions = tok_CloseAllSessions;
		flist.C_GetSessionInfo = tok_GetSessionInfo;
		flist.C_Login = tok_Login;
		flist.C_Logout = tok_Logout;
		flist.C_FindObjectsInit = tok_FindObjectsInit;
		flist.C_FindObjects = tok_FindObjects;
		flist.C_FindObjectsFinal = tok_FindObjectsFinal;
		flist.C_GetAttributeValue = tok_GetAttributeValue;
		flist.C_GenerateKeyPair = tok_GenerateKeyPair;
		flist.C_DestroyObject = tok_DestroyObject;
		flist.C_SignInit = tok_SignInit;
		flist.C_Sign = tok_Sign;
		flist.version.major = 2;
		flist.version.minor = 40;
	}
	*pp = &flist;
	UNLOCK();
	return CKR_OK;
}
