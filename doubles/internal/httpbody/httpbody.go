// Package httpbody reads request bodies into buffers the doubles size and
// reuse themselves, where io.ReadAll would allocate and regrow a new one
// for every request.
package httpbody

import "io"

// Room is the capacity for a body whose Content-Length is contentLength
// (-1: unknown): the body and the read that finds its end, so that
// reading it allocates no more. A body announced longer than limit will
// be refused, so it gets io.ReadAll's first size instead.
func Room(contentLength int64, limit int) int {
	if contentLength < 0 || contentLength > int64(limit) {
		return 512
	}
	return int(contentLength) + 1
}

// AppendAll is io.ReadAll appending to dst: it reads r until EOF, growing
// dst only when it is full.
func AppendAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)] // let append pick the next size
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return dst, err
		}
	}
}
