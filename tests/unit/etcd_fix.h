/* etcd answers shared by the etcd/api.c and etcd/http.c tests
 * (tests/unit/test_etcd_parse.c and test_etcd_fake.c): those that both
 * the parsers and the fake server on loopback use, and LEN(). Each file
 * keeps the answers only it uses. Header-only: include it after
 * lib/fmacros.h, as both do. */
#ifndef ZOOINIT_TESTS_ETCD_FIX_H
#define ZOOINIT_TESTS_ETCD_FIX_H

/* Answers captured from Debian's etcd 3.4.23 on loopback. A member list
 * of three: voter t1 (the leader), an added but not started voter (no
 * name, no clientURLs) and learner t3. */
static const char MEMBERS3[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"raft_term\":\"2\"},\"members\":[{\"ID\":"
    "\"3319814642761637952\",\"name\":\"t1\",\"peerURLs\":[\"http://127.0."
    "0.1:23800\"],\"clientURLs\":[\"http://127.0.0.1:23790\"]},{\"ID\":"
    "\"9331796414767838108\",\"peerURLs\":[\"http://127.0.0.1:23803\"]},"
    "{\"ID\":\"9606456642336373479\",\"name\":\"t3\",\"peerURLs\":[\"http:/"
    "/127.0.0.1:23802\"],\"clientURLs\":[\"http://127.0.0.1:23792\"],"
    "\"isLearner\":true}]}";

static const char STATUS[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"revision\":\"1\",\"raft_term\":\"2\"},"
    "\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"leader\":"
    "\"3319814642761637952\",\"raftIndex\":\"5\",\"raftTerm\":\"2\","
    "\"raftAppliedIndex\":\"5\",\"dbSizeInUse\":\"16384\"}";

/* Quorum lost: no "leader" at all, and an "errors" array. */
static const char STATUS_NOLEADER[] =
    "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":"
    "\"3319814642761637952\",\"revision\":\"1\",\"raft_term\":\"2\"},"
    "\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"raftIndex\":\"15\","
    "\"raftTerm\":\"2\",\"raftAppliedIndex\":\"15\",\"errors\":"
    "[\"etcdserver: no leader\"],\"dbSizeInUse\":\"16384\"}";

/* What a learner answers to member/list, with HTTP 503. */
static const char LEARNER_ERR[] =
    "{\"error\":\"etcdserver: rpc not supported for learner\",\"message\":"
    "\"etcdserver: rpc not supported for learner\",\"code\":14}";

#define LEN(s) (sizeof(s) - 1)

#endif
