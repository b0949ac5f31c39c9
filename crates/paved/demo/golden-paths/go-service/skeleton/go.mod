module ${{ values.destination.host }}/${{ values.destination.owner }}/${{ values.destination.repo }}

go 1.24
