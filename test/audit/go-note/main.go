// go-note runs golang.org/x/mod/sumdb/note, the reference implementation of signed notes, for the
// differential tests in test/audit (note.test.ts, checkpoint.test.ts). It reads one JSON array of
// requests on stdin and writes one JSON array of responses, in the same order, on stdout.
//
// Requests ([]byte fields are base64 in JSON, so that invalid UTF-8 can be passed):
//
//	{"op":"generate","name":N}                          → {"skey":S,"vkey":V}
//	{"op":"signer","key":K}                             → {"name":N,"hash":H} or an error
//	{"op":"verifier","key":K}                           → {"name":N,"hash":H} or an error
//	{"op":"sign","text":B,"sigs":[…],"unverified":[…],"signers":[K…]} → {"msg":B} or an error
//	{"op":"open","msg":B,"verifiers":[K…]}              → {"text":T,"sigs":[…],"unverified":[…]} or an error
//
// An error is {"error":KIND,"message":M}, KIND one of malformed-note, unverified-note,
// invalid-signature, ambiguous-key, invalid-key, invalid-signer, other. The process exits non-zero
// only when its input cannot be read.
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type signature struct {
	Name   string `json:"name"`
	Hash   uint32 `json:"hash"`
	Base64 string `json:"base64"`
}

type request struct {
	Op         string      `json:"op"`
	Name       string      `json:"name"`
	Key        string      `json:"key"`
	Text       []byte      `json:"text"`
	Msg        []byte      `json:"msg"`
	Sigs       []signature `json:"sigs"`
	Unverified []signature `json:"unverified"`
	Signers    []string    `json:"signers"`
	Verifiers  []string    `json:"verifiers"`
}

type response struct {
	Error      string      `json:"error,omitempty"`
	Message    string      `json:"message,omitempty"`
	Skey       string      `json:"skey,omitempty"`
	Vkey       string      `json:"vkey,omitempty"`
	Name       string      `json:"name,omitempty"`
	Hash       uint32      `json:"hash"`
	Msg        []byte      `json:"msg,omitempty"`
	Text       *string     `json:"text,omitempty"`
	Sigs       []signature `json:"sigs"`
	Unverified []signature `json:"unverified"`
}

func toSigs(in []note.Signature) []signature {
	out := []signature{}
	for _, s := range in {
		out = append(out, signature{s.Name, s.Hash, s.Base64})
	}
	return out
}

func fromSigs(in []signature) []note.Signature {
	var out []note.Signature
	for _, s := range in {
		out = append(out, note.Signature{Name: s.Name, Hash: s.Hash, Base64: s.Base64})
	}
	return out
}

// classify maps an error of package note to a stable kind.
func classify(err error, keyKind string) response {
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	kind := "other"
	switch {
	case errors.As(err, &unverified):
		kind = "unverified-note"
	case errors.As(err, &invalid):
		kind = "invalid-signature"
	case err.Error() == "malformed note":
		kind = "malformed-note"
	case strings.HasPrefix(err.Error(), "ambiguous key "):
		kind = "ambiguous-key"
	case keyKind != "":
		kind = keyKind
	}
	return response{Error: kind, Message: err.Error()}
}

func handle(r request) response {
	switch r.Op {
	case "generate":
		skey, vkey, err := note.GenerateKey(rand.Reader, r.Name)
		if err != nil {
			return classify(err, "")
		}
		return response{Skey: skey, Vkey: vkey}
	case "signer":
		s, err := note.NewSigner(r.Key)
		if err != nil {
			return classify(err, "invalid-key")
		}
		return response{Name: s.Name(), Hash: s.KeyHash()}
	case "verifier":
		v, err := note.NewVerifier(r.Key)
		if err != nil {
			return classify(err, "invalid-key")
		}
		return response{Name: v.Name(), Hash: v.KeyHash()}
	case "sign":
		var signers []note.Signer
		for _, k := range r.Signers {
			s, err := note.NewSigner(k)
			if err != nil {
				return classify(err, "invalid-key")
			}
			signers = append(signers, s)
		}
		msg, err := note.Sign(&note.Note{Text: string(r.Text), Sigs: fromSigs(r.Sigs), UnverifiedSigs: fromSigs(r.Unverified)}, signers...)
		if err != nil {
			return classify(err, "")
		}
		return response{Msg: msg}
	case "open":
		var verifiers []note.Verifier
		for _, k := range r.Verifiers {
			v, err := note.NewVerifier(k)
			if err != nil {
				return classify(err, "invalid-key")
			}
			verifiers = append(verifiers, v)
		}
		n, err := note.Open(r.Msg, note.VerifierList(verifiers...))
		if err != nil {
			res := classify(err, "")
			var unverified *note.UnverifiedNoteError
			if errors.As(err, &unverified) {
				res.Text = &unverified.Note.Text
				res.Sigs = toSigs(unverified.Note.Sigs)
				res.Unverified = toSigs(unverified.Note.UnverifiedSigs)
			}
			return res
		}
		return response{Text: &n.Text, Sigs: toSigs(n.Sigs), Unverified: toSigs(n.UnverifiedSigs)}
	}
	return response{Error: "other", Message: fmt.Sprintf("unknown op %q", r.Op)}
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintln(os.Stderr, "go-note: reading requests:", err)
		os.Exit(2)
	}
	out := make([]response, len(reqs))
	for i, r := range reqs {
		out[i] = handle(r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "go-note: writing responses:", err)
		os.Exit(2)
	}
}
