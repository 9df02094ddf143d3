// Package kms replaces Yandex Cloud's KMS client inside pgpitr's WAL-G build.
// pgpitr does not support Yandex Cloud KMS: a WAL-G configured for it fails loudly.
package kms

import (
	"context"
	"errors"

	kms "github.com/yandex-cloud/go-genproto/yandex/cloud/kms/v1"
)

var errUnsupported = errors.New("Yandex Cloud KMS is not built into pgpitr's WAL-G")

// SymmetricCryptoClient has the two methods WAL-G calls; both fail.
type SymmetricCryptoClient struct{}

// NewSymmetricCryptoClient accepts WAL-G's SDK handle and ignores it.
func NewSymmetricCryptoClient(any) *SymmetricCryptoClient {
	return &SymmetricCryptoClient{}
}

// Decrypt always fails: no Yandex Cloud KMS here.
func (*SymmetricCryptoClient) Decrypt(context.Context, *kms.SymmetricDecryptRequest) (*kms.SymmetricDecryptResponse, error) {
	return nil, errUnsupported
}

// GenerateDataKey always fails: no Yandex Cloud KMS here.
func (*SymmetricCryptoClient) GenerateDataKey(context.Context, *kms.GenerateDataKeyRequest) (*kms.GenerateDataKeyResponse, error) {
	return nil, errUnsupported
}
