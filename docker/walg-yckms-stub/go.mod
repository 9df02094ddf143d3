// A stand-in for github.com/yandex-cloud/go-sdk/services/kms, which the Go module proxy
// this project is built behind refuses. WAL-G imports it only for Yandex Cloud KMS
// (internal/crypto/yckms and its enveloper), which pgpitr never configures; every call
// returns an error. docker/build-walg.sh points WAL-G's go.mod at this folder.
module github.com/yandex-cloud/go-sdk/services/kms

go 1.25

require github.com/yandex-cloud/go-genproto v0.100.0
