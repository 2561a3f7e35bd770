#include "textflag.h"

// func callerFP() uintptr: the frame pointer of the calling function.
TEXT ·callerFP(SB),NOSPLIT,$0-8
	MOVQ BP, ret+0(FP)
	RET
