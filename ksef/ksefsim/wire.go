package ksefsim

// Wire types, written from the component schemas of the official OpenAPI
// document. Optional fields the schema marks nullable are pointers or use
// omitempty so that the bodies validate against the schemas.

type wireChallenge struct {
	Challenge   string `json:"challenge"`
	Timestamp   string `json:"timestamp"`
	TimestampMs int64  `json:"timestampMs"`
	ClientIP    string `json:"clientIp"`
}

type wireContextID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type wireTokenAuthRequest struct {
	Challenge         string         `json:"challenge"`
	ContextIdentifier *wireContextID `json:"contextIdentifier"`
	EncryptedToken    []byte         `json:"encryptedToken"`
	PublicKeyID       *string        `json:"publicKeyId"`
}

type wireTokenInfo struct {
	Token      string `json:"token"`
	ValidUntil string `json:"validUntil"`
}

type wireAuthInit struct {
	ReferenceNumber     string        `json:"referenceNumber"`
	AuthenticationToken wireTokenInfo `json:"authenticationToken"`
}

type wireStatus struct {
	Code        int               `json:"code"`
	Description string            `json:"description"`
	Details     []string          `json:"details,omitempty"`
	Extensions  map[string]string `json:"extensions,omitempty"`
}

type wireMethodInfo struct {
	Category    string `json:"category"`
	Code        string `json:"code"`
	DisplayName string `json:"displayName"`
}

type wireAuthStatus struct {
	StartDate                string         `json:"startDate"`
	AuthenticationMethod     string         `json:"authenticationMethod"`
	AuthenticationMethodInfo wireMethodInfo `json:"authenticationMethodInfo"`
	Status                   wireStatus     `json:"status"`
	IsTokenRedeemed          *bool          `json:"isTokenRedeemed,omitempty"`
}

type wireTokens struct {
	AccessToken  wireTokenInfo  `json:"accessToken"`
	RefreshToken *wireTokenInfo `json:"refreshToken,omitempty"`
}

type wirePublicKey struct {
	Certificate   []byte   `json:"certificate"`
	CertificateID string   `json:"certificateId"`
	PublicKeyID   string   `json:"publicKeyId"`
	ValidFrom     string   `json:"validFrom"`
	ValidTo       string   `json:"validTo"`
	Usage         []string `json:"usage"`
}

type wireFormCode struct {
	SystemCode    string `json:"systemCode"`
	SchemaVersion string `json:"schemaVersion"`
	Value         string `json:"value"`
}

type wireEncryption struct {
	EncryptedSymmetricKey []byte  `json:"encryptedSymmetricKey"`
	InitializationVector  []byte  `json:"initializationVector"`
	PublicKeyID           *string `json:"publicKeyId"`
}

type wireOpenOnline struct {
	FormCode   *wireFormCode   `json:"formCode"`
	Encryption *wireEncryption `json:"encryption"`
}

type wireOpenOnlineResp struct {
	ReferenceNumber string `json:"referenceNumber"`
	ValidUntil      string `json:"validUntil"`
}

type wireSendInvoice struct {
	InvoiceHash             string  `json:"invoiceHash"`
	InvoiceSize             int64   `json:"invoiceSize"`
	EncryptedInvoiceHash    string  `json:"encryptedInvoiceHash"`
	EncryptedInvoiceSize    int64   `json:"encryptedInvoiceSize"`
	EncryptedInvoiceContent []byte  `json:"encryptedInvoiceContent"`
	OfflineMode             bool    `json:"offlineMode"`
	HashOfCorrectedInvoice  *string `json:"hashOfCorrectedInvoice"`
}

type wireRef struct {
	ReferenceNumber string `json:"referenceNumber"`
}

type wireUpoPage struct {
	ReferenceNumber           string `json:"referenceNumber"`
	DownloadURL               string `json:"downloadUrl"`
	DownloadURLExpirationDate string `json:"downloadUrlExpirationDate"`
}

type wireUpo struct {
	Pages []wireUpoPage `json:"pages"`
}

type wireSessionStatus struct {
	Status                 wireStatus `json:"status"`
	DateCreated            string     `json:"dateCreated"`
	DateUpdated            string     `json:"dateUpdated"`
	ValidUntil             *string    `json:"validUntil,omitempty"`
	Upo                    *wireUpo   `json:"upo,omitempty"`
	InvoiceCount           *int       `json:"invoiceCount,omitempty"`
	SuccessfulInvoiceCount *int       `json:"successfulInvoiceCount,omitempty"`
	FailedInvoiceCount     *int       `json:"failedInvoiceCount,omitempty"`
}

type wireInvoiceStatus struct {
	OrdinalNumber                int        `json:"ordinalNumber"`
	InvoiceNumber                *string    `json:"invoiceNumber,omitempty"`
	KsefNumber                   *string    `json:"ksefNumber,omitempty"`
	ReferenceNumber              string     `json:"referenceNumber"`
	InvoiceHash                  string     `json:"invoiceHash"`
	InvoiceFileName              *string    `json:"invoiceFileName,omitempty"`
	AcquisitionDate              *string    `json:"acquisitionDate,omitempty"`
	InvoicingDate                string     `json:"invoicingDate"`
	PermanentStorageDate         *string    `json:"permanentStorageDate,omitempty"`
	UpoDownloadURL               *string    `json:"upoDownloadUrl,omitempty"`
	UpoDownloadURLExpirationDate *string    `json:"upoDownloadUrlExpirationDate,omitempty"`
	InvoicingMode                *string    `json:"invoicingMode,omitempty"`
	Status                       wireStatus `json:"status"`
}

type wireSessionInvoices struct {
	ContinuationToken *string             `json:"continuationToken,omitempty"`
	Invoices          []wireInvoiceStatus `json:"invoices"`
}

type wireBatchPart struct {
	OrdinalNumber int    `json:"ordinalNumber"`
	FileSize      int64  `json:"fileSize"`
	FileHash      string `json:"fileHash"`
}

type wireBatchFile struct {
	FileSize        int64           `json:"fileSize"`
	FileHash        string          `json:"fileHash"`
	CompressionType *string         `json:"compressionType"`
	FileParts       []wireBatchPart `json:"fileParts"`
}

type wireOpenBatch struct {
	FormCode    *wireFormCode   `json:"formCode"`
	BatchFile   *wireBatchFile  `json:"batchFile"`
	Encryption  *wireEncryption `json:"encryption"`
	OfflineMode bool            `json:"offlineMode"`
}

type wirePartUpload struct {
	OrdinalNumber int               `json:"ordinalNumber"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers"`
}

type wireOpenBatchResp struct {
	ReferenceNumber    string           `json:"referenceNumber"`
	PartUploadRequests []wirePartUpload `json:"partUploadRequests"`
}

// Errors.

type wireExceptionDetail struct {
	ExceptionCode        int      `json:"exceptionCode"`
	ExceptionDescription string   `json:"exceptionDescription"`
	Details              []string `json:"details,omitempty"`
}

type wireExceptionInfo struct {
	ExceptionDetailList []wireExceptionDetail `json:"exceptionDetailList"`
	ReferenceNumber     string                `json:"referenceNumber"`
	ServiceCode         string                `json:"serviceCode"`
	ServiceCtx          string                `json:"serviceCtx"`
	ServiceName         string                `json:"serviceName"`
	Timestamp           string                `json:"timestamp"`
}

type wireExceptionResponse struct {
	Exception wireExceptionInfo `json:"exception"`
}

type wireAPIError struct {
	Code        int      `json:"code"`
	Description string   `json:"description"`
	Details     []string `json:"details,omitempty"`
}

type wireProblem struct {
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Instance  string         `json:"instance"`
	Detail    string         `json:"detail"`
	Errors    []wireAPIError `json:"errors,omitempty"`
	Timestamp string         `json:"timestamp"`
	TraceID   string         `json:"traceId"`
}

type wireTooMany struct {
	Status struct {
		Code        int      `json:"code"`
		Description string   `json:"description"`
		Details     []string `json:"details"`
	} `json:"status"`
}

// Availability feed (Latarnia), as the official C# client models it.

type wireLatarniaStatus struct {
	Status   string            `json:"status"`
	Messages []LatarniaMessage `json:"messages"`
}
