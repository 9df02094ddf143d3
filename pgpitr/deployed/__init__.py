"""What a deployed stack was deployed with, and the changes to it that `pulumi up` refuses.

The program exports the record (`deployedSettings`) and reads the previous deployment's
back before declaring anything, so a refused change stops the preview, and an
`up --skip-preview`, before any resource is touched."""
